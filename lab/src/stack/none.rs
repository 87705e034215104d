//! Stack `none`: no HA daemon at all. The first member holds the VIPs statically (see
//! `PlanCluster::static_vip_holder`), so a lab measures the network and firewall alone.

use anyhow::{bail, Result};

use super::{conntrackd, HaStack, Roles};
use crate::lab::Lab;
use crate::node::Node;
use crate::topology::PlanCluster;

pub struct NoStack;

impl HaStack for NoStack {
    fn name(&self) -> &'static str {
        "none"
    }
    fn daemons(&self) -> &'static [&'static str] {
        &[]
    }
    fn state_dirs(&self) -> &'static [&'static str] {
        &[]
    }
    fn log_files(&self, _daemon: &str) -> &'static [&'static str] {
        &[]
    }
    fn config_file(&self) -> &'static str {
        conntrackd::CONFIG
    }
    fn settings(&self, _cl: &PlanCluster) -> Vec<String> {
        Vec::new()
    }
    fn starting(&self) -> &'static str {
        "nothing to start"
    }
    fn configure(&self, _: &Lab, _: &PlanCluster, _: &Node) -> Result<()> {
        Ok(())
    }
    fn start(&self, _: &Lab, _: &PlanCluster, _: &Node) -> Result<()> {
        Ok(())
    }
    fn joined(&self, _: &Lab, _: &PlanCluster, _: &Node) -> Result<bool> {
        Ok(true)
    }
    fn stop(&self, _: &Node) -> Result<()> {
        bail!("stack `none` has nothing to stop")
    }
    fn ready(&self, _: &Lab, _: &PlanCluster, _: &[Node], _holder: &str) -> Result<bool> {
        Ok(true)
    }
    fn roles(&self, _: &Lab, _: &PlanCluster) -> Roles {
        Box::new(|_, vips| if vips.is_empty() { "-".into() } else { "holder".into() })
    }
    fn switchover(&self, _: &Lab, _: &PlanCluster, _current: &str, _target: &str) -> Result<()> {
        bail!("stack `none` has no switchover: the first member holds the VIPs")
    }
}
