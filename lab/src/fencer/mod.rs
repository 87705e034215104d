//! The lab's fencer: `halab _fencer LAB`, one host process per lab (in its ledger), which the
//! members' fence agents ask to power a member off and on (`server.rs`, the `halab` method), or
//! which runs fence_virtd for them (`virtd.rs`, the `virt` method on libvirt). It acts on the
//! lab with the same primitives as the faults (`power`), so a fenced member rejoins per
//! `cluster.rejoin`. What it shares with the members (key, ports, the log of its actions) is
//! `fence/`.

mod process;
pub mod server;
mod virtd;

pub use process::{start, stop};
