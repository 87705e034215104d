//! The libvirt provider's stand-in when halab is built without the `libvirt` feature: every
//! call says how to get the real one, and a ledger with VMs in it is not silently forgotten.

use std::sync::Arc;

use anyhow::{bail, Result};

use crate::image::Image;
use crate::labstate::LabState;
use crate::ledger::{Ledger, Object};
use crate::node::Shell;
use crate::provider::{Actuators, Options, Provider};

const NO_LIBVIRT: &str = "this halab was built without the `libvirt` feature: rebuild with default features (needs libvirt-dev)";

pub struct NoLibvirt;

impl Provider for NoLibvirt {
    fn name(&self) -> &'static str {
        "libvirt"
    }
    fn preflight(&self) -> Result<()> {
        bail!(NO_LIBVIRT)
    }
    fn decide(&self, _: &crate::topology::Plan, _: &Options, _: &Image) -> Result<serde_json::Value> {
        bail!(NO_LIBVIRT)
    }
    fn up(&self, _: &LabState, _: &mut Ledger, _: &Image) -> Result<()> {
        bail!(NO_LIBVIRT)
    }
    fn teardown(&self, ledger: &Ledger) -> Result<()> {
        if ledger.data.objects.iter().any(|o| matches!(o, Object::Domain { .. } | Object::Network { .. } | Object::NftTable { .. })) {
            bail!(NO_LIBVIRT)
        }
        Ok(())
    }
    fn garbage_reason(&self, _: &Ledger) -> Option<String> {
        None
    }
    fn shell(&self, _: &LabState, _: &str) -> Result<Arc<dyn Shell>> {
        bail!(NO_LIBVIRT)
    }
    fn actuators<'a>(&self, _: &'a LabState, _: &str) -> Result<Box<dyn Actuators + 'a>> {
        bail!(NO_LIBVIRT)
    }
}
