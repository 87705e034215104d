//! One clock for every timestamp halab records: CLOCK_MONOTONIC in nanoseconds. netns nodes
//! share the host kernel, so probe samples and fault times line up exactly.

/// CLOCK_REALTIME in ns: only to convert wall-clock stamps (the stacks' events) to `now_ns`.
pub fn realtime_ns() -> u64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_REALTIME).unwrap_or(nix::sys::time::TimeSpec::new(0, 0));
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

/// Milliseconds from `from_ns` to `to_ns` (negative when `to` comes first), unrounded: the one
/// conversion of a span of this clock.
pub fn ms_between(from_ns: u64, to_ns: u64) -> f64 {
    (i128::from(to_ns) - i128::from(from_ns)) as f64 / 1e6
}

/// A figure as a run record keeps it: to 0.1 of its unit (ms, Mbit/s, requests/s). Far finer
/// than any method here resolves (the probe's 10 ms ticks, a 100 ms poll), so the rounding
/// never hides a difference a report shows; the raw samples keep every digit.
pub fn figure(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub fn now_ns() -> u64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap_or(nix::sys::time::TimeSpec::new(0, 0));
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}
