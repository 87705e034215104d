//! Progress for long steps: indicatif spinners on a terminal, plain log lines otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use std::io::Write;

use indicatif::{ProgressBar, ProgressStyle};

/// A log line on stderr that never panics: a closed pipe (`halab up | head`) must not abort
/// `up` half-way and leave a lab behind.
macro_rules! log {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// One long step. Dropping it without `done` leaves a line saying it was interrupted.
pub struct Step {
    bar: Option<ProgressBar>,
    what: String,
    start: Instant,
    finished: bool,
}

/// Set when several labs run at once (`study --jobs`): their spinners would overwrite each
/// other's lines, so every step logs plain lines.
static PLAIN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_plain() {
    PLAIN.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn interactive() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("HALAB_PLAIN").is_none() && !PLAIN.load(std::sync::atomic::Ordering::Relaxed)
}

impl Step {
    pub fn start(what: impl Into<String>) -> Step {
        let what = what.into();
        let bar = if interactive() {
            let b = ProgressBar::new_spinner();
            b.set_style(ProgressStyle::with_template("{spinner} {prefix} {wide_msg} [{elapsed}]").unwrap_or_else(|_| ProgressStyle::default_spinner()));
            b.set_prefix(what.clone());
            b.enable_steady_tick(Duration::from_millis(120));
            Some(b)
        } else {
            log!("halab: {what} ...");
            None
        };
        Step { bar, what, start: Instant::now(), finished: false }
    }

    /// Say what is happening inside the step (plain mode logs it as its own line).
    pub fn message(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.set_message(msg.to_string()),
            None => log!("halab:   {msg}"),
        }
    }

    pub fn done(mut self, outcome: &str) -> Duration {
        self.finished = true;
        let took = self.start.elapsed();
        let line = format!("{} {} ({:.2} s)", self.what, outcome, took.as_secs_f64());
        match self.bar.take() {
            Some(b) => b.finish_with_message(format!("{outcome} ({:.2} s)", took.as_secs_f64())),
            None => log!("halab: {line}"),
        }
        took
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        if !self.finished {
            match self.bar.take() {
                Some(b) => b.abandon_with_message("stopped"),
                None => log!("halab: {} stopped", self.what),
            }
        }
    }
}

/// A plain informational line that does not break a running spinner.
pub fn info(msg: &str) {
    log!("halab: {msg}");
}
