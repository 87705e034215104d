//! The VM disk of the image (libvirt provider groundwork): a qcow2 whose ext4 holds the same
//! rootfs the netns nodes use, with no machine-id and no SSH host keys in it.

mod common;

use std::process::Command;

use common::*;

#[test]
fn the_qcow2_disk_carries_the_shared_rootfs() {
    if !privileged() {
        return;
    }
    let out = ok(&["image", "disk"]);
    let disk = out.split_whitespace().nth(1).expect("the disk path").to_string();
    let info = Command::new("qemu-img").args(["info", "--output=json", &disk]).output().unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["format"], "qcow2");
    assert!(info["virtual-size"].as_u64().unwrap() > 500_000_000, "{info}");
    // Look inside without mounting: back to raw, then debugfs.
    let raw = std::env::temp_dir().join("halab-test-disk.raw");
    let r = Command::new("qemu-img").args(["convert", "-O", "raw", &disk, raw.to_str().unwrap()]).status().unwrap();
    assert!(r.success());
    let debugfs =
        |req: String| String::from_utf8_lossy(&Command::new("debugfs").args(["-R", &req, raw.to_str().unwrap()]).output().unwrap().stdout).into_owned();
    for bin in ["/usr/sbin/keepalived", "/usr/sbin/corosync", "/usr/sbin/conntrackd", "/usr/sbin/sshd", "/lib/systemd/systemd"] {
        assert!(debugfs(format!("stat {bin}")).contains("Type: regular"), "{bin} is in the disk");
    }
    let etc_ssh = debugfs("ls /etc/ssh".into());
    assert!(etc_ssh.contains("sshd_config") && !etc_ssh.contains("ssh_host_"), "no shared SSH host keys in the base: {etc_ssh}");
    let mid = Command::new("debugfs").args(["-R", "cat /etc/machine-id", raw.to_str().unwrap()]).output().unwrap();
    assert!(String::from_utf8_lossy(&mid.stdout).trim().is_empty(), "no shared machine-id in the base");
    let _ = std::fs::remove_file(&raw);
    // A second call is a cache hit.
    assert!(ok(&["image", "disk"]).starts_with("cached "));
}
