//! One clock for every timestamp halab records: CLOCK_MONOTONIC in nanoseconds. netns nodes
//! share the host kernel, so probe samples and fault times line up exactly.

/// CLOCK_REALTIME in ns: only to convert wall-clock stamps (the stacks' events) to `now_ns`.
pub fn realtime_ns() -> u64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_REALTIME).unwrap_or(nix::sys::time::TimeSpec::new(0, 0));
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

pub fn now_ns() -> u64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap_or(nix::sys::time::TimeSpec::new(0, 0));
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}
