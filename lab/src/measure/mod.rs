//! Measuring: the gap probe, gap computation, traffic parsers, statistics.

pub mod clock;
pub mod compare;
pub mod dip;
pub mod floor;
pub mod gap;
pub mod metrics;
pub mod probe;
pub mod rank_test;
pub mod stats;
