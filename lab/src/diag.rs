//! Input errors: every problem of a user's file, each with file:line:col, field and hint.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    /// Dotted path of the field, e.g. `nodes.fw1.interfaces.inet`.
    pub field: String,
    pub message: String,
    pub hint: String,
}

impl Diagnostic {
    pub fn new(file: &Path, line: usize, col: usize, field: &str, message: &str, hint: &str) -> Self {
        Diagnostic { file: file.to_path_buf(), line, col, field: field.to_string(), message: message.to_string(), hint: hint.to_string() }
    }
    /// A problem of the whole file (unreadable, empty): at 1:1, where an editor can jump.
    pub fn whole_file(file: &Path, field: &str, message: &str, hint: &str) -> Self {
        Self::new(file, 1, 1, field, message, hint)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.col)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.message)?;
        if !self.hint.is_empty() {
            write!(f, " (hint: {})", self.hint)?;
        }
        Ok(())
    }
}

/// Bad input: the caller exits 2 and nothing has been created.
#[derive(Debug, thiserror::Error)]
pub struct InputError {
    pub diagnostics: Vec<Diagnostic>,
}

impl InputError {
    pub fn one(d: Diagnostic) -> Self {
        InputError { diagnostics: vec![d] }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        writeln!(f, "{} problem{} found:", n, if n == 1 { "" } else { "s" })?;
        for d in &self.diagnostics {
            writeln!(f, "  {d}")?;
        }
        Ok(())
    }
}
