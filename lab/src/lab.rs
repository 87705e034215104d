//! A running lab as the rest of halab uses it: its saved state (lab.json), its provider, and
//! one shell per node, made once and kept, so a node never looks its provider up per call.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};

use crate::labstate::LabState;
use crate::node::{Node, Shell};
use crate::provider::{Actuators, Provider};

#[derive(Clone)]
pub struct Lab {
    state: Arc<LabState>,
    provider: &'static dyn Provider,
    shells: Arc<Mutex<BTreeMap<String, Arc<dyn Shell>>>>,
}

impl Deref for Lab {
    type Target = LabState;
    fn deref(&self) -> &LabState {
        &self.state
    }
}

impl Lab {
    pub fn new(state: LabState) -> Result<Lab> {
        let provider = crate::provider::get(&state.provider.kind)?;
        Ok(Lab { state: Arc::new(state), provider, shells: Default::default() })
    }

    /// The lab called `name`, from its lab.json.
    pub fn open(name: &str) -> Result<Lab> {
        Lab::new(LabState::load(name)?)
    }

    pub fn state(&self) -> &LabState {
        &self.state
    }

    pub fn provider(&self) -> &'static dyn Provider {
        self.provider
    }

    /// A node of the lab, reached through its provider's shell.
    pub fn node(&self, name: &str) -> Result<Node> {
        let mut shells = self.shells.lock().map_err(|_| anyhow!("a thread panicked holding the lab's shells"))?;
        let shell = match shells.get(name) {
            Some(s) => s.clone(),
            None => {
                let s = self.provider.shell(&self.state, name)?;
                shells.insert(name.to_string(), s.clone());
                s
            }
        };
        Ok(Node::new(name, shell))
    }

    /// What breaks a node (power, cables, loss, freeze).
    pub fn actuators(&self, node: &str) -> Result<Box<dyn Actuators + '_>> {
        self.provider.actuators(&self.state, node)
    }

    /// A new boot: the next call gets a new shell (the old one may point at the last boot's
    /// processes). `power` calls it; the member's rejoin is there too.
    pub fn forget_shell(&self, node: &str) -> Result<()> {
        self.shells.lock().map_err(|_| anyhow!("a thread panicked holding the lab's shells"))?.remove(node);
        Ok(())
    }

    /// Is the node powered on? (false for a node the lab does not have)
    pub fn running(&self, node: &str) -> bool {
        self.actuators(node).is_ok_and(|a| a.running())
    }

    /// Powered on and not up yet (see `Actuators::booting`).
    pub fn booting(&self, node: &str) -> bool {
        self.actuators(node).is_ok_and(|a| a.booting())
    }

    /// How much slower than a netns node this lab's nodes run (TCG VMs: 4x).
    pub fn time_scale(&self) -> u32 {
        self.provider.time_scale(&self.state)
    }
}
