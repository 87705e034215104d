//! Watches who holds the VIPs while a scenario runs (every 100 ms): the holder timeline, and
//! split brain (one VIP on two members at once).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::labstate::LabState;
use crate::measure::clock::now_ns;
use crate::node::Node;
use crate::stack::ready;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    /// (t_ns, members holding at least one VIP) at every change.
    pub holders: Vec<(u64, Vec<String>)>,
    /// First time a VIP was seen on two members.
    pub split_brain_ns: Option<u64>,
}

pub struct Watcher {
    stop: Arc<AtomicBool>,
    data: Arc<Mutex<Timeline>>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    pub fn start(st: &LabState) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let data = Arc::new(Mutex::new(Timeline::default()));
        let (st, s2, d2) = (st.clone(), stop.clone(), data.clone());
        let handle = std::thread::spawn(move || {
            let Some(cl) = st.plan.cluster.clone() else { return };
            while !s2.load(Ordering::Relaxed) {
                let t = now_ns();
                let mut holders = Vec::new();
                let mut seen = BTreeSet::new();
                let mut split = false;
                for m in &cl.members {
                    if crate::provider::netns::init_pid(&st, m).is_none() {
                        continue;
                    }
                    let Ok(n) = Node::new(&st, m) else { continue };
                    let held = ready::vips_held(&n, &cl).unwrap_or_default();
                    if !held.is_empty() {
                        holders.push(m.clone());
                    }
                    for a in held {
                        split |= !seen.insert(a);
                    }
                }
                if let Ok(mut d) = d2.lock() {
                    if d.holders.last().map(|x| &x.1) != Some(&holders) {
                        d.holders.push((t, holders));
                    }
                    if split && d.split_brain_ns.is_none() {
                        d.split_brain_ns = Some(t);
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Watcher { stop, data, handle: Some(handle) }
    }

    pub fn current(&self) -> Timeline {
        self.data.lock().map(|d| d.clone()).unwrap_or_default()
    }

    pub fn finish(mut self) -> Timeline {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.current()
    }
}
