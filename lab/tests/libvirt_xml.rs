//! libvirt provider groundwork: generated XML snapshot-tested, and define/start/freeze/destroy/
//! undefine of a whole fw-pair's networks and domains against libvirt's own test:///default
//! driver (no daemon). That driver cannot change an interface's link state, so cable pulls are
//! checked at their seam: the device XML.
#![cfg(feature = "libvirt")]

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use halab::provider::libvirt::{conn, xml};
use halab::topology;

fn plan() -> topology::Plan {
    topology::load(Path::new("../topologies/fw-pair.yaml"), Some("vm-pair")).unwrap()
}

fn spec(node: &str) -> xml::DomainSpec {
    let dir = PathBuf::from("/var/lib/halab/labs/vm-pair/nodes").join(node);
    xml::DomainSpec {
        kvm: false,
        memory_mib: 512,
        vcpus: 1,
        kernel: "/var/cache/halab/images/HASH/vmlinuz".into(),
        initrd: "/var/cache/halab/images/HASH/initrd.img".into(),
        disk: dir.join("disk.qcow2"),
        identity: dir.join("identity.tar"),
        machine_id: "0123456789abcdef0123456789abcdef".into(),
        console_log: dir.join("console.log"),
        mgmt_mac: topology::validate::mac_for("vm-pair", node, "mgmt"),
        index: p_index(node),
    }
}

fn p_index(node: &str) -> usize {
    plan().nodes.iter().position(|n| n.name == node).unwrap()
}

#[test]
fn xml_snapshots() {
    let p = plan();
    insta::assert_snapshot!("network_inet", xml::network_xml(&p, 0));
    insta::assert_snapshot!("network_mgmt", xml::mgmt_network_xml(&p, Ipv4Addr::new(198, 19, 0, 1), 24));
    insta::assert_snapshot!("domain_fw1", xml::domain_xml(&p, p.node("fw1").unwrap(), &spec("fw1")));
    insta::assert_snapshot!("link_down", xml::link_state_xml(&p, "inet", &p.node("fw1").unwrap().interfaces[0].mac, false));
}

#[test]
fn lab_networks_have_no_host_address_and_names_fit() {
    let p = plan();
    for i in 0..p.networks.len() {
        let x = xml::network_xml(&p, i);
        assert!(!x.contains("<ip") && !x.contains("<forward"), "a lab network gets no host-side address: {x}");
        assert!(xml::bridge_name(&p, i).len() <= 15);
    }
    assert!(xml::mgmt_bridge_name(&p).len() <= 15);
    let kvm = xml::domain_xml(&p, p.node("fw1").unwrap(), &xml::DomainSpec { kvm: true, ..spec("fw1") });
    assert!(kvm.starts_with("<domain type='kvm'>") && !kvm.contains("tb-cache"));
    // Tap devices carry the lab's id (so `down` and a fault find them) and fit IFNAMSIZ.
    let fw1 = p.nodes.iter().position(|n| n.name == "fw1").unwrap();
    for i in [None, Some(0), Some(1), Some(2)] {
        let tap = xml::tap_name(&p, fw1, i);
        assert!(tap.len() <= 15 && tap.contains(&p.id), "{tap}");
    }
    // The shared base must never be relabelled (libvirt would chown it to libvirt-qemu).
    assert!(kvm.contains("relabel='no'"));
}

#[test]
fn fw_pair_defines_starts_freezes_and_goes_away_on_the_test_driver() {
    let p = plan();
    let result = conn::with_conn("test:///default", move |c| {
        let mut nets = vec![conn::start_network(c, &xml::mgmt_network_xml(&p, Ipv4Addr::new(198, 19, 0, 1), 24))?];
        for i in 0..p.networks.len() {
            nets.push(conn::start_network(c, &xml::network_xml(&p, i))?);
        }
        let mut doms = Vec::new();
        for n in &p.nodes {
            doms.push(conn::start_domain(c, &xml::domain_xml(&p, n, &spec(&n.name)))?);
        }
        for n in &nets {
            anyhow::ensure!(conn::network_active(c, n)?, "network {n} is not active");
        }
        for d in &doms {
            anyhow::ensure!(conn::domain_active(c, d)?, "domain {d} is not running");
        }
        conn::set_frozen(c, &doms[1], true)?;
        conn::set_frozen(c, &doms[1], false)?;
        conn::destroy_domain(c, &doms[1])?;
        anyhow::ensure!(!conn::domain_active(c, &doms[1])?, "destroy is a power cut");
        conn::start_defined(c, &doms[1])?;
        anyhow::ensure!(conn::domain_active(c, &doms[1])?, "power on starts the defined domain again");
        for d in &doms {
            conn::remove_domain(c, d)?;
            conn::remove_domain(c, d)?; // idempotent, as `down` after a crash needs
        }
        for n in &nets {
            conn::remove_network(c, n)?;
        }
        anyhow::ensure!(doms.iter().all(|d| c.lookup_domain_by_name(d).is_err()), "no domain is left");
        anyhow::ensure!(nets.iter().all(|n| c.lookup_network_by_name(n).is_err()), "no network is left");
        Ok((nets.len(), doms.len()))
    });
    assert_eq!(result.unwrap(), (4, 4));
}
