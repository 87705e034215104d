//! corosync + pacemaker: write corosync.conf and the pre-seeded CIB, start both daemons.

use anyhow::Result;

use super::{cib, corosync};
use crate::lab::Lab;
use crate::node::Node;
use crate::topology::PlanCluster;

pub const LOG: &str = "/var/log/pacemaker/pacemaker.log";

pub fn start(st: &Lab, cl: &PlanCluster, node: &Node) -> Result<()> {
    node.put(corosync::CONFIG, &corosync::config(&st.plan, cl), 0o644, "root:root")?;
    // Directories pacemaker and crmsh expect, with the ownership they check.
    node.sh("mkdir -p /var/lib/pacemaker/cib /var/log/pacemaker /var/log/crmsh /run/crm && chown -R hacluster:haclient /var/lib/pacemaker /var/log/pacemaker && chmod 0770 /var/log/pacemaker && chmod 0750 /var/lib/pacemaker/cib")?;
    node.sh("rm -f /var/lib/pacemaker/cib/cib.xml.sig /var/lib/pacemaker/cib/cib-*")?;
    node.put(cib::PATH, &cib::cib(&st.plan, cl), 0o600, "hacluster:haclient")?;
    node.service_start("corosync", &["/usr/sbin/corosync", "-f"])?;
    // pacemakerd gives up when corosync does not answer yet (systemd orders them; we wait).
    super::ready::until(
        std::time::Duration::from_secs(20) * st.time_scale(),
        || Ok(node.succeeds(&["corosync-cfgtool", "-s"])),
        || format!("corosync does not answer on `{}`", node.name),
    )?;
    node.service_start("pacemaker", &["/usr/bin/env", &format!("PCMK_logfile={LOG}"), "PCMK_logfacility=none", "/usr/sbin/pacemakerd"])
}

/// Current cluster state seen from `node`.
pub fn state(node: &Node) -> Result<super::crm::CrmState> {
    let xml = node.run(&["crm_mon", "-1", "--output-as=xml"])?;
    super::crm::parse(&xml)
}
