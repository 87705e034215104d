//! The run's own metrics: the VIPs, the gap's split, fencing, conntrackd's state.

use super::{Def, Metric, Unit};
use serde_json::Value;

// The VIPs, polled every 100 ms (`scenario::watch`).
pub const FAILOVER: Metric<f64> = Metric::new(
    "failover",
    Unit::Ms,
    "the fault to one member other than the holder at the fault alone holding the VIPs (polled every 100 ms; a member silent for over 2 s holds nothing)",
);
pub const FAILOVER_WINDOW: Metric<f64> = Metric::new(
    "failover_window",
    Unit::Ms,
    "how long before `failover`'s stamp the new holder had answered before: the VIPs moved within it (the 100 ms pause plus one query's own time; each member is asked by its own thread)",
);
pub const VIP_MOVED: Metric<bool> = Metric::new("vip_moved", Unit::Flag, "the VIPs moved to another member after the fault (polled)");
pub const VIP_OVERLAP_MS: Metric<f64> =
    Metric::new("vip_overlap_ms", Unit::Ms, "the longest time two members held a VIP at once, as both members' own answers show it (polled)");
pub const SPLIT_BRAIN: Metric<bool> = Metric::new(
    "split_brain",
    Unit::Flag,
    "two members held a VIP at once for longer than 1 s, as both members' own answers show it (each polled every 100 ms)",
);

// halab's own sampler on the host (`scenario::sampler`): starvation measured in every run.
pub const SAMPLER_TICK_LATE_P99: Metric<f64> = Metric::new(
    "sampler_tick_late_p99",
    Unit::Ms,
    "the 99th percentile of how late halab's 10 ms sampler on the host woke during the steps; where no probe runs, above 10 ms the report counts the run as starved",
);
pub const SAMPLER_TICK_LATE_MAX: Metric<f64> = Metric::new("sampler_tick_late_max", Unit::Ms, "its latest wake");

// The gap split in two (`scenario::results::split_gap`).
pub const DETECTION: Metric<f64> =
    Metric::new("detection", Unit::Ms, "the fault to the stack's first own event on any member (its VRRP transition, pacemaker's membership change)");
pub const STACK_EVENTS_CLOCK_ERROR: Metric<f64> = Metric::new(
    "stack_events.clock_error",
    Unit::Ms,
    "how far off the detection event's time may be (the largest member's without one): on a member with its own clock (VM, host), half the round trip of the clock read that moved its stamps onto the host's clock plus how much that clock moved during the run, a reboot's jump included (0 on netns); `detection` and `takeover` are exact to within it",
);
pub const FLOOR: Metric<f64> = Metric::new(
    "floor",
    Unit::Ms,
    "the least the protocol waits after the fault before any member may act (`measure/floor.rs`: VRRP's master-down interval less the advert interval the last advert may precede the fault by; corosync's token + consensus less the token's hold, plus the priority fencing delay)",
);
pub const FLOOR_BASIS: Metric<String> = Metric::new("floor_basis", Unit::Text, "how the floor is made up, in the lab's settings");
pub const DETECTION_EVENT: Metric<String> = Metric::new("detection_event", Unit::Text, "that event: `member: what`");
pub const TAKEOVER: Metric<f64> =
    Metric::new("takeover", Unit::Ms, "that event to every probe's traffic flowing again; never clamped: negative when traffic flowed first");
pub const TAKEOVER_OUTCOME: Metric<Value> = Metric::new("takeover_outcome", Unit::Outcome, "the outcome of the probe gaps takeover ends with");
pub const DETECTION_POLLED: Metric<f64> = Metric::new("detection_polled", Unit::Ms, "detection from polling the VIPs: `failover`");
pub const TAKEOVER_POLLED: Metric<f64> = Metric::new("takeover_polled", Unit::Ms, "`failover` to every probe's traffic flowing again");
pub const TAKEOVER_POLLED_OUTCOME: Metric<Value> = Metric::new("takeover_polled_outcome", Unit::Outcome, "as `takeover_outcome`");

// Fencing (`fence::metrics`): pacemaker's confirmations and the fencer's log.
pub const FENCE_COUNT: Metric<usize> = Metric::new("fence.count", Unit::Count, "fencings pacemaker confirmed after the fault");
pub const FENCED: Metric<Vec<String>> = Metric::new("fenced", Unit::Names, "the members fenced after the fault");
pub const FENCED_MEMBER: Metric<bool> = Metric::new("fenced.*", Unit::Flag, "this member was fenced after the fault");
pub const FENCE_HOLDER_FENCED: Metric<bool> = Metric::new("fence.holder_fenced", Unit::Flag, "the VIP holder at the fault was fenced");
pub const FENCE_AFTER_FAULT: Metric<f64> = Metric::new("fence.after_fault", Unit::Ms, "the fault to the fence agent's first request");
pub const FENCE_TOOK: Metric<f64> = Metric::new("fence.took", Unit::Ms, "that request to pacemaker's confirmation");
pub const FENCE_TO_VIP: Metric<f64> =
    Metric::new("fence.to_vip", Unit::Ms, "the confirmation to the VIPs on one member (polled; only when they moved after it)");

// conntrackd (`stack::ctstate`): its caches' parity and its counters.
pub const CT_PARITY: Metric<bool> =
    Metric::new("ct.parity", Unit::Flag, "the traffic's flows the active tracks are in every other member's external cache (before the fault)");
pub const CT_PARITY_FLOWS: Metric<usize> = Metric::new("ct.parity_flows", Unit::Count, "the flows compared");
pub const CT_PARITY_MISSING: Metric<usize> = Metric::new("ct.parity_missing", Unit::Count, "the flows missing from some standby");
pub const CT_PARITY_MISSING_FLOWS: Metric<Vec<String>> = Metric::new("ct.parity_missing_flows", Unit::Names, "each missing flow and where");
pub const SYNC_LOST: Metric<u64> = Metric::new("sync.lost", Unit::Count, "sync messages lost or malformed, every member, at the end");
pub const SYNC_ERRORS: Metric<u64> = Metric::new("sync.errors", Unit::Count, "conntrackd's sync errors, every member, at the end");
pub const SYNC_OUT_OF_SEQUENCE: Metric<u64> = Metric::new(
    "sync.out_of_sequence",
    Unit::Count,
    "sync messages conntrackd saw older than the last one it received (`Packets before` of `conntrackd -s network`), every member, at the end: FTFW drops them, NOTRACK and ALARM apply them; among three members FTFW mixes the senders' sequences (docs/conntrackd-ftfw-three-members.md)",
);
pub const NFT_INVALID: Metric<u64> = Metric::new("nft.invalid", Unit::Count, "packets the members' firewall dropped as invalid, at the end");

/// conntrackd's counters on a member, before the fault (`ct.before.<member>.<counter>`) and at
/// the end (`ct.after...`).
pub struct Counters {
    pub internal: Metric<u64>,
    pub external: Metric<u64>,
    pub invalid: Metric<u64>,
    pub sync_sent: Metric<u64>,
    pub sync_recv: Metric<u64>,
    pub out_of_sequence: Metric<u64>,
}

macro_rules! counters {
    ($when:literal) => {
        Counters {
            internal: Metric::new(concat!("ct.", $when, ".*.internal"), Unit::Count, "conntrackd's internal cache entries (`conntrackd -s`)"),
            external: Metric::new(concat!("ct.", $when, ".*.external"), Unit::Count, "conntrackd's external cache entries"),
            invalid: Metric::new(concat!("ct.", $when, ".*.invalid"), Unit::Count, "packets the member's firewall dropped as invalid"),
            sync_sent: Metric::new(concat!("ct.", $when, ".*.sync_sent"), Unit::Count, "sync packets sent"),
            sync_recv: Metric::new(concat!("ct.", $when, ".*.sync_recv"), Unit::Count, "sync packets received"),
            out_of_sequence: Metric::new(
                concat!("ct.", $when, ".*.out_of_sequence"),
                Unit::Count,
                "sync messages older than the last one received (`sync.out_of_sequence`)",
            ),
        }
    };
}

pub const CT_BEFORE: Counters = counters!("before");
pub const CT_AFTER: Counters = counters!("after");

/// Every metric of the run, in the order `halab vocabulary` lists them.
pub const ALL: &[&Def] = &[
    &FAILOVER.def,
    &FAILOVER_WINDOW.def,
    &VIP_MOVED.def,
    &VIP_OVERLAP_MS.def,
    &SPLIT_BRAIN.def,
    &SAMPLER_TICK_LATE_P99.def,
    &SAMPLER_TICK_LATE_MAX.def,
    &DETECTION.def,
    &DETECTION_EVENT.def,
    &FLOOR.def,
    &FLOOR_BASIS.def,
    &STACK_EVENTS_CLOCK_ERROR.def,
    &TAKEOVER.def,
    &TAKEOVER_OUTCOME.def,
    &DETECTION_POLLED.def,
    &TAKEOVER_POLLED.def,
    &TAKEOVER_POLLED_OUTCOME.def,
    &FENCE_COUNT.def,
    &FENCED.def,
    &FENCED_MEMBER.def,
    &FENCE_HOLDER_FENCED.def,
    &FENCE_AFTER_FAULT.def,
    &FENCE_TOOK.def,
    &FENCE_TO_VIP.def,
    &CT_PARITY.def,
    &CT_PARITY_FLOWS.def,
    &CT_PARITY_MISSING.def,
    &CT_PARITY_MISSING_FLOWS.def,
    &SYNC_LOST.def,
    &SYNC_ERRORS.def,
    &SYNC_OUT_OF_SEQUENCE.def,
    &NFT_INVALID.def,
    &CT_BEFORE.internal.def,
    &CT_BEFORE.external.def,
    &CT_BEFORE.invalid.def,
    &CT_BEFORE.sync_sent.def,
    &CT_BEFORE.sync_recv.def,
    &CT_BEFORE.out_of_sequence.def,
    &CT_AFTER.internal.def,
    &CT_AFTER.external.def,
    &CT_AFTER.invalid.def,
    &CT_AFTER.sync_sent.def,
    &CT_AFTER.sync_recv.def,
    &CT_AFTER.out_of_sequence.def,
];
