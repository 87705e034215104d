//! conntrackd: connection-state sync between the members (FTFW for a pair, NOTRACK for more).
//! keepalived drives it from `keepalived/notify.rs`, pacemaker through `ocf:heartbeat:conntrackd`.

use crate::topology::{ConntrackdMode, Plan, PlanCluster, PlanNode, SyncTransport};

pub const CONFIG: &str = "/etc/conntrackd/conntrackd.conf";
pub const SOCKET: &str = "/var/run/conntrackd.ctl";
/// conntrackd's own log (`LogFile`): resyncs, commits, netlink overruns.
pub const LOG: &str = "/var/log/halab/conntrackd-events.log";
pub const MCAST_GROUP: &str = "225.0.0.50";

pub fn enabled(cl: &PlanCluster) -> bool {
    cl.sync.conntrackd != ConntrackdMode::Off && cl.sync.network.is_some()
}

/// Does the member's conntrackd answer on its socket?
pub fn answers(node: &crate::node::Node) -> bool {
    node.succeeds(&["/usr/sbin/conntrackd", "-C", CONFIG, "-s"])
}

pub fn config(plan: &Plan, cl: &PlanCluster, node: &PlanNode, mgmt: std::net::Ipv4Addr) -> Option<String> {
    if !enabled(cl) {
        return None;
    }
    let net = cl.sync.network.as_deref()?;
    let iface = node.interfaces.iter().find(|i| i.network == net)?;
    let mode = match cl.sync.conntrackd {
        ConntrackdMode::Ftfw => "Mode FTFW {\n\t\tDisableExternalCache Off\n\t\tCommitTimeout 1800\n\t\tPurgeTimeout 5\n\t}",
        ConntrackdMode::Alarm => "Mode ALARM {\n\t\tRefreshTime 15\n\t\tCacheTimeout 180\n\t}",
        // A member that starts (a rejoin after fencing) asks the others for their state: FTFW
        // does so by itself, NOTRACK only with StartupResync.
        ConntrackdMode::Notrack => "Mode NOTRACK {\n\t\tDisableExternalCache Off\n\t\tStartupResync on\n\t}",
        ConntrackdMode::Off => return None,
    };
    let transport = match cl.sync.transport {
        SyncTransport::Multicast => format!(
            "Multicast {{\n\t\tIPv4_address {MCAST_GROUP}\n\t\tGroup {port}\n\t\tIPv4_interface {addr}\n\t\tInterface {ifname}\n\t\tSndSocketBuffer 1249280\n\t\tRcvSocketBuffer 1249280\n\t\tChecksum on\n\t}}",
            port = super::firewall::CONNTRACKD_PORT,
            addr = iface.address,
            ifname = iface.ifname
        ),
        SyncTransport::Udp => {
            let peer = cl
                .members
                .iter()
                .filter(|m| **m != node.name)
                .filter_map(|m| plan.node(m))
                .find_map(|n| n.interfaces.iter().find(|i| i.network == net))
                .map(|i| i.address.to_string())
                .unwrap_or_default();
            format!(
                "UDP {{\n\t\tIPv4_address {addr}\n\t\tIPv4_Destination_Address {peer}\n\t\tPort {port}\n\t\tInterface {ifname}\n\t\tSndSocketBuffer 1249280\n\t\tRcvSocketBuffer 1249280\n\t\tChecksum on\n\t}}",
                addr = iface.address,
                port = super::firewall::CONNTRACKD_PORT,
                ifname = iface.ifname
            )
        }
    };
    // Never sync the members' own traffic: their addresses, the VIPs and management.
    let mut ignore: Vec<String> = vec!["127.0.0.1".into(), mgmt.to_string()];
    for m in cl.members.iter().filter_map(|m| plan.node(m)) {
        ignore.extend(m.interfaces.iter().map(|i| i.address.to_string()));
    }
    ignore.extend(cl.vips.iter().map(|v| v.address.to_string()));
    ignore.dedup();
    let ignore: String = ignore.iter().map(|a| format!("\t\t\tIPv4_address {a}\n")).collect();
    // The UNIX block spans several lines: ocf:heartbeat:conntrackd finds the socket with awk.
    Some(format!(
        "# halab: conntrackd of {node} (generated)\nSync {{\n\t{mode}\n\t{transport}\n}}\n\nGeneral {{\n\tHashSize 32768\n\tHashLimit 131072\n\tLogFile {LOG}\n\tSyslog off\n\tLockFile /var/lock/conntrack.lock\n\tUNIX {{\n\t\tPath {SOCKET}\n\t}}\n\tNetlinkBufferSize 2097152\n\tNetlinkBufferSizeMaxGrowth 8388608\n\tFilter From Userspace {{\n\t\tProtocol Accept {{\n\t\t\tTCP\n\t\t\tUDP\n\t\t\tICMP\n\t\t}}\n\t\tAddress Ignore {{\n{ignore}\t\t}}\n\t}}\n}}\n",
        node = node.name
    ))
}
