//! The Debian package: scripts/package builds it from this build and lintian finds no error
//! or warning in it; scripts/try-package installs it in a clean Debian root (no Rust, no
//! source tree) and runs the demo there against /usr/share/halab, then leaves nothing behind,
//! and takes nothing from a lab up beside it.

mod common;

use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn deb_installs_on_a_clean_debian_and_runs_the_demo() {
    if !common::privileged() {
        return;
    }
    let built = Command::new("scripts/package").arg("--no-build").current_dir(repo()).output().unwrap();
    let said = String::from_utf8_lossy(&built.stdout);
    assert!(built.status.success(), "scripts/package failed:\n{said}\n{}", String::from_utf8_lossy(&built.stderr));
    assert!(said.contains("lintian: no error or warning"), "lintian did not run or complained:\n{said}");
    let deb = said.lines().find_map(|l| l.strip_prefix("package: ")).and_then(|l| l.split(' ').next()).expect("the package's path");
    let listing = String::from_utf8_lossy(&Command::new("dpkg-deb").args(["-c", deb]).current_dir(repo()).output().unwrap().stdout).into_owned();
    for f in [
        "./usr/bin/halab",
        "./usr/lib/halab/halab-node",
        "./usr/share/bash-completion/completions/halab",
        "./usr/share/man/man1/halab-up.1.gz",
        "./usr/share/halab/images/debian-trixie-ha.yaml",
        "./usr/share/halab/topologies/fw-pair.yaml",
        "./usr/share/halab/schemas/topology.json",
        "./usr/share/halab/examples/hosts-rack/inventory.yaml",
    ] {
        assert!(listing.contains(f), "{f} is not in the package");
    }
    // A lab of another test, up beside the try, keeps its namespaces and its cables: once the
    // clean root's unmount propagated to the host's /run/netns and took every lab's fabric.
    let beside = "t-pkg-beside";
    let _ = common::halab(&["down", beside]);
    common::ok(&["up", "../topologies/fw-pair.yaml", "--name", beside, "--stack", "none"]);
    let _guard = common::LabGuard(beside);
    assert!(common::pings(beside, "fw1", "198.18.3.2"), "the lab beside is cabled before the try");
    let tried = Command::new("scripts/try-package").args([deb, "--image-cache"]).current_dir(repo()).output().unwrap();
    let out = String::from_utf8_lossy(&tried.stdout);
    assert!(tried.status.success(), "the package failed on a clean root:\n{out}\n{}", String::from_utf8_lossy(&tried.stderr));
    let netns = String::from_utf8_lossy(&Command::new("ip").args(["netns", "list"]).output().unwrap().stdout).into_owned();
    assert!(netns.contains(&format!("{beside}+fabric")), "the try took the fabric namespace of the lab beside it:\n{netns}");
    assert!(common::pings(beside, "fw1", "198.18.3.2"), "the lab beside lost its cables during the try");
    assert!(out.contains("try-package: ok") && out.contains("holds every VIP") && out.contains("3 received"), "{out}");
    let roots = std::fs::read_dir("/tmp").unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("halab-try-package.")).count();
    assert_eq!(roots, 0, "try-package left its root in /tmp");
}
