//! Ctrl-C (SIGINT), SIGTERM and SIGHUP during a long operation: a flag checked between steps,
//! so `up` stops at a safe point and rolls back instead of dying half-way.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: nix::libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Catch the signals (call once, early in commands that change the host).
pub fn install() {
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::empty(), SigSet::empty());
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        unsafe {
            let _ = sigaction(sig, &action);
        }
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Err(Interrupted) once a signal arrived.
pub fn check() -> anyhow::Result<()> {
    if interrupted() {
        return Err(Interrupted.into());
    }
    Ok(())
}

/// `HALAB_STEP_DELAY_MS`: pause between the steps of `up`, so a test (or a person) can
/// interrupt it at a known point. Checks for an interrupt after the pause.
pub fn step_boundary() -> anyhow::Result<()> {
    if let Some(ms) = std::env::var("HALAB_STEP_DELAY_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    check()
}
