//! Input errors: every problem of a user's file, each with file:line:col, field and hint.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where something was written: a file, and a line and column from 1. Shown as
/// `file:line:col`, what editors and terminals jump to. (Kept in a lab's saved plan as
/// `[file, line, col]`, as before it was a type.)
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(from = "(PathBuf, usize, usize)", into = "(PathBuf, usize, usize)")]
pub struct Span {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
}

impl Span {
    pub fn new(file: &Path, line: usize, col: usize) -> Self {
        Span { file: file.to_path_buf(), line, col }
    }
    /// The whole file, or what has no line of its own (a command-line option): 1:1.
    pub fn whole_file(file: &Path) -> Self {
        Self::new(file, 1, 1)
    }
    /// What halab wrote itself, in no user's file (its firewall recipe): shown as `what`.
    pub fn made_by(what: &str) -> Self {
        Span { file: PathBuf::from(what), line: 0, col: 0 }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}", self.file.display()),
            _ => write!(f, "{}:{}:{}", self.file.display(), self.line, self.col),
        }
    }
}

impl From<(PathBuf, usize, usize)> for Span {
    fn from((file, line, col): (PathBuf, usize, usize)) -> Self {
        Span { file, line, col }
    }
}

impl From<Span> for (PathBuf, usize, usize) {
    fn from(s: Span) -> Self {
        (s.file, s.line, s.col)
    }
}

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
    /// A problem of what was written at `span`.
    pub fn at(span: &Span, field: &str, message: &str, hint: &str) -> Self {
        Self::new(&span.file, span.line, span.col, field, message, hint)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", Span::new(&self.file, self.line, self.col))?;
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
