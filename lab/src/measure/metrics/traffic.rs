//! Each traffic kind's metrics, recorded as `<traffic>.<key>`: what its kind file in
//! `scenario/traffic/` puts and what a scenario's `expect:` and `report:` may name.

use super::{Def, Metric, Unit};
use crate::measure::gap::GapOutcome;

// Shared by several kinds.
pub const COMPLETED: Metric<bool> = Metric::new("completed", Unit::Flag, "the client ended by itself with success and did all it was asked");
pub const GAP: Metric<f64> = Metric::new("gap", Unit::Ms, "the longest silence after the fault (a lower bound unless its outcome is `recovered`)");
pub const GAP_OR_NONE: Metric<Option<f64>> = Metric::new("gap", Unit::Ms, GAP.def.doc);
pub const GAP_OUTCOME: Metric<GapOutcome> = Metric::new("gap_outcome", Unit::Outcome, "whether traffic came back after the gap");
pub const RECOVERED: Metric<bool> = Metric::new("recovered", Unit::Flag, "traffic flowed again after the fault");

// probe (halab's own UDP echo every 10 ms and a TCP stream).
pub const PROBE_TCP_GAP: Metric<f64> = Metric::new("tcp.gap", Unit::Ms, "the TCP stream's longest silence after the fault");
pub const PROBE_TCP_SURVIVED: Metric<bool> = Metric::new("tcp.survived", Unit::Flag, "the TCP connection carried on after the fault without an error");
pub const PROBE_TCP_OUTCOME: Metric<GapOutcome> = Metric::new("tcp.outcome", Unit::Outcome, "the TCP gap's outcome");
pub const PROBE_UDP_SENT: Metric<u64> = Metric::new("udp.sent", Unit::Count, "UDP probes sent");
pub const PROBE_UDP_RECEIVED: Metric<usize> = Metric::new("udp.received", Unit::Count, "UDP echoes received");
pub const PROBE_TICK_LATE_P99: Metric<f64> =
    Metric::new("tick_late_p99", Unit::Ms, "the 99th percentile of how late the probe's ticks fired: above 10 ms, or 1 % of the run's shortest gap if that is more, the report counts the run as starved");
pub const PROBE_TICK_LATE_MAX: Metric<f64> = Metric::new("tick_late_max", Unit::Ms, "the latest tick: how late an event read on this host can be");
pub const PROBE_LAST_FAULT_GAP: Metric<f64> = Metric::new("last_fault.gap", Unit::Ms, "the longest UDP silence after the last fault (a failback)");
pub const PROBE_LAST_FAULT_TCP_GAP: Metric<f64> = Metric::new("last_fault.tcp.gap", Unit::Ms, "the same for TCP");
pub const PROBE_GAP_START: Metric<f64> = Metric::new("gap_start_after_fault", Unit::Ms, "the fault to the gap's first silent tick");
pub const PROBE_RECOVERED_AFTER_FAULT: Metric<f64> = Metric::new("recovered_after_fault", Unit::Ms, "the fault to the gap's end: traffic flowing again");
pub const PROBE_RECOVERED_AFTER_FAULT_OUTCOME: Metric<serde_json::Value> =
    Metric::new("recovered_after_fault_outcome", Unit::Outcome, "the gap's outcome, which that end has too");
pub const PROBE_CLOCK_DRIFT: Metric<f64> =
    Metric::new("clock_offset_drift_ms", Unit::Ms, "on a node with its own clock (VM): how its offset from the host changed during the probe");

// capture (tcpdump of the probe's echoes).
pub const CAPTURE_PACKETS: Metric<usize> = Metric::new("packets", Unit::Count, "packets captured");

// scp.
pub const SCP_CHECKSUM_OK: Metric<bool> = Metric::new("checksum_ok", Unit::Flag, "the copy completed and its checksum equals the source's");
pub const SCP_EXIT_CODE: Metric<Option<i32>> = Metric::new("exit_code", Unit::Count, "scp's exit code");
pub const SCP_DURATION: Metric<f64> = Metric::new("duration", Unit::Ms, "the copy's duration");

// A load's rate around the fault (`measure::dip`), in 0.1 s bins.
pub struct Rate {
    pub before: Metric<Option<f64>>,
    pub min: Metric<Option<f64>>,
    pub during: Metric<Option<f64>>,
    pub after: Metric<Option<f64>>,
}

macro_rules! rate {
    ($r:literal, $unit:expr) => {
        Rate {
            before: Metric::new(concat!($r, "_before"), $unit, "the rate before the fault"),
            min: Metric::new(concat!($r, "_min"), $unit, "the lowest 0.1 s bin after the fault"),
            during: Metric::new(concat!($r, "_during"), $unit, "the rate while below half the rate before"),
            after: Metric::new(concat!($r, "_after"), $unit, "the rate once back to 90 %"),
        }
    };
}
pub const DIP_S: Metric<Option<f64>> = Metric::new("dip_s", Unit::S, "how long the rate stayed below half of before");
pub const RECOVERY_S: Metric<Option<f64>> = Metric::new("recovery_s", Unit::S, "the fault to the rate back at 90 % of before");

// iperf3.
pub const IPERF_MBPS: Metric<Option<f64>> = Metric::new("mbps", Unit::Mbps, "iperf3's received throughput over the whole run");
pub const IPERF_MBPS_LAST: Metric<Option<f64>> = Metric::new("mbps_last", Unit::Mbps, "the last full 0.1 s interval");
pub const IPERF_INTERVALS: Metric<usize> = Metric::new("intervals", Unit::Count, "full 0.1 s intervals");
pub const IPERF_RATE: Rate = rate!("mbps", Unit::Mbps);
pub const IPERF_RETRANSMITS: Metric<Option<u64>> = Metric::new("retransmits", Unit::Count, "TCP retransmits over the run");
pub const IPERF_RETRANSMITS_IN_DIP: Metric<Option<u64>> = Metric::new("retransmits_in_dip", Unit::Count, "TCP retransmits from the fault to the recovery");

// ab (with the server's log).
pub const AB_ASKED: Metric<u64> = Metric::new("asked", Unit::Count, "requests asked");
pub const AB_ANSWERED: Metric<u64> = Metric::new("answered", Unit::Count, "requests ab saw complete");
pub const AB_UNANSWERED: Metric<u64> = Metric::new("unanswered", Unit::Count, "asked less answered");
pub const AB_FAILED: Metric<Option<u64>> = Metric::new("failed", Unit::Count, "ab's failed requests");
pub const AB_ERRORS: [Metric<Option<u64>>; 4] = [
    Metric::new("errors_connect", Unit::Count, "failed requests: connect"),
    Metric::new("errors_receive", Unit::Count, "failed requests: receive"),
    Metric::new("errors_length", Unit::Count, "failed requests: length"),
    Metric::new("errors_exceptions", Unit::Count, "failed requests: exceptions"),
];
pub const AB_NON_2XX: Metric<u64> = Metric::new("non_2xx", Unit::Count, "answers other than 2xx");
pub const AB_RPS: Metric<Option<f64>> = Metric::new("rps", Unit::PerS, "ab's requests per second");
pub const AB_STOPPED: Metric<Option<String>> = Metric::new("stopped", Unit::Text, "why halab's guard stopped ab early, if it did");
pub const AB_CLIENT_CPU: Metric<Option<f64>> = Metric::new(
    "client_cpu",
    Unit::Share,
    "ab's CPU time over its wall time before the fault: at 0.95 or more the client, not the cluster, set the rate (saturated)",
);
pub const AB_LOAD_LIMIT: Metric<Option<String>> =
    Metric::new("load_limit", Unit::Text, "a limit of the load generator itself (ports, descriptors, conntrack table): the run is an error");
pub const AB_SERVED: Metric<usize> = Metric::new("served", Unit::Count, "requests the server logged from this client");
pub const AB_SERVED_UNANSWERED: Metric<u64> = Metric::new("served_unanswered", Unit::Count, "served, but the answer went down with its connection");
pub const AB_RATE: Rate = rate!("rps", Unit::PerS);

// service (the user's own request, repeated).
pub const SERVICE_ATTEMPTS: Metric<usize> = Metric::new("attempts", Unit::Count, "requests made");
pub const SERVICE_OK: Metric<usize> = Metric::new("ok", Unit::Count, "requests that succeeded");
pub const SERVICE_AVAILABILITY: Metric<Option<f64>> = Metric::new("availability", Unit::Share, "the share of requests that succeeded");
pub const SERVICE_ACKED: Metric<usize> = Metric::new("acked", Unit::Count, "writes acknowledged");
pub const SERVICE_LOST: Metric<Option<usize>> = Metric::new("lost", Unit::Count, "acknowledged writes not read back at the end");

macro_rules! defs {
    ($($m:expr),* $(,)?) => { &[$(&$m.def),*] };
}

pub const PROBE: &[&Def] = defs![
    GAP,
    RECOVERED,
    GAP_OUTCOME,
    PROBE_TCP_GAP,
    PROBE_TCP_SURVIVED,
    PROBE_TCP_OUTCOME,
    PROBE_UDP_SENT,
    PROBE_UDP_RECEIVED,
    PROBE_TICK_LATE_P99,
    PROBE_TICK_LATE_MAX,
    PROBE_LAST_FAULT_GAP,
    PROBE_LAST_FAULT_TCP_GAP,
    PROBE_GAP_START,
    PROBE_RECOVERED_AFTER_FAULT,
    PROBE_RECOVERED_AFTER_FAULT_OUTCOME,
    PROBE_CLOCK_DRIFT,
];
pub const CAPTURE: &[&Def] = defs![CAPTURE_PACKETS, GAP, GAP_OUTCOME];
pub const SCP: &[&Def] = defs![COMPLETED, SCP_CHECKSUM_OK, SCP_EXIT_CODE, SCP_DURATION];
pub const IPERF3: &[&Def] = defs![
    COMPLETED,
    IPERF_MBPS,
    IPERF_MBPS_LAST,
    IPERF_INTERVALS,
    IPERF_RATE.before,
    IPERF_RATE.min,
    IPERF_RATE.during,
    IPERF_RATE.after,
    DIP_S,
    RECOVERY_S,
    IPERF_RETRANSMITS,
    IPERF_RETRANSMITS_IN_DIP,
];
pub const AB: &[&Def] = defs![
    COMPLETED,
    AB_ASKED,
    AB_ANSWERED,
    AB_UNANSWERED,
    AB_FAILED,
    AB_ERRORS[0],
    AB_ERRORS[1],
    AB_ERRORS[2],
    AB_ERRORS[3],
    AB_NON_2XX,
    AB_RPS,
    AB_STOPPED,
    AB_CLIENT_CPU,
    AB_LOAD_LIMIT,
    AB_SERVED,
    AB_SERVED_UNANSWERED,
    GAP_OR_NONE,
    GAP_OUTCOME,
    AB_RATE.before,
    AB_RATE.min,
    AB_RATE.during,
    AB_RATE.after,
    DIP_S,
    RECOVERY_S,
];
pub const SERVICE: &[&Def] = defs![SERVICE_ATTEMPTS, SERVICE_OK, SERVICE_AVAILABILITY, GAP_OR_NONE, RECOVERED, SERVICE_ACKED, SERVICE_LOST];
