//! Both pacemaker generations halab supports read what it writes (root): every CIB halab
//! generates for a shipped or example topology on pacemaker (fencing on, and off where the
//! topology allows it) passes `crm_verify` from bookworm's pacemaker 2.1 and trixie's 3.0,
//! each run in its own image (chroot, offline, the CIB on stdin: nothing of the cached image
//! is written). The state both write is read by `crm::parse` in its test.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use halab::topology::{FenceMethod, Stack};

fn rootfs(image: &str) -> PathBuf {
    ok(&["image", "build", image]);
    let path = PathBuf::from(format!("../images/{image}.yaml"));
    let recipe = halab::image::Recipe::load(&path).unwrap();
    halab::image::build::cached(&recipe).unwrap_or_else(|| panic!("{image} was just built")).rootfs()
}

/// crm_verify of `root`'s pacemaker on `cib`: (passed, its words).
fn crm_verify(root: &Path, cib: &str) -> (bool, String) {
    let mut c = Command::new("chroot")
        .arg(root)
        .args(["crm_verify", "--xml-pipe", "-V"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(cib.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

/// Every topology with a cluster that pacemaker can run, with its fencing and without.
fn cibs() -> Vec<(String, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("../topologies").unwrap().flatten().map(|e| e.path()).collect();
    files.extend(std::fs::read_dir("../examples").unwrap().flatten().map(|e| e.path().join("topology.yaml")).filter(|p| p.exists()));
    let fencer = "198.19.0.1".parse().unwrap();
    let mut out = Vec::new();
    for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "yaml")) {
        let Ok(mut plan) = halab::topology::load(f, None) else { continue };
        if plan.cluster.is_none() || plan.set_stack(Stack::Pacemaker).is_err() {
            continue;
        }
        halab::fence::resolve(&mut plan, "netns", &[FenceMethod::Halab]).unwrap();
        let mut unfenced = plan.clone();
        if let Some(c) = unfenced.cluster.as_mut() {
            c.fencing.method = Some(FenceMethod::Off);
        }
        for (what, p) in [("fenced", &plan), ("unfenced", &unfenced)] {
            let cl = p.cluster.as_ref().unwrap();
            out.push((format!("{} ({what})", f.display()), halab::stack::pacemaker::cib::cib(p, cl, fencer, 1).unwrap()));
        }
        // As a TCG lab writes it: every operation's timeout x4, with op_defaults.
        let cl = plan.cluster.as_ref().unwrap();
        let scaled = halab::stack::pacemaker::cib::cib(&plan, cl, fencer, 4).unwrap();
        assert!(scaled.contains("<op_defaults>"), "{scaled}");
        out.push((format!("{} (fenced, timeouts x4 as on TCG)", f.display()), scaled));
    }
    out
}

#[test]
fn every_generated_cib_verifies_on_pacemaker_2_1_and_3_0() {
    if !privileged() {
        return;
    }
    let cibs = cibs();
    assert!(cibs.len() >= 15, "the shipped topologies and examples make {} CIBs", cibs.len());
    for image in ["debian-bookworm-ha", "debian-trixie-ha"] {
        let root = rootfs(image);
        for (what, cib) in &cibs {
            let (passed, words) = crm_verify(&root, cib);
            assert!(passed, "{what} does not verify on {image}:\n{words}");
        }
        // The check can fail: a primitive without class or type is refused.
        let (passed, _) = crm_verify(&root, &cibs[0].1.replacen("<resources>", "<resources><primitive id=\"x\"/>", 1));
        assert!(!passed, "crm_verify on {image} passed a primitive without class or type");
    }
}
