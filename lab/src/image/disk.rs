//! The image as a VM disk (libvirt provider): the same rootfs (and its packages layer, if any)
//! written into an ext4 filesystem (`mkfs.ext4 -d`), converted to a qcow2 base that every VM overlays.
//! Cached next to the rootfs; built once, atomically, under the image's lock.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::build::{du, Image};
use crate::cmd;
use crate::progress::Step;

pub fn disk_path(img: &Image) -> PathBuf {
    img.dir.join("disk.qcow2")
}

/// The qcow2 base of an image, built if missing. Returns (path, built now).
pub fn ensure_disk(img: &Image) -> Result<(PathBuf, bool)> {
    let disk = disk_path(img);
    if disk.is_file() {
        return Ok((disk, false));
    }
    let lock_path = img.dir.join("disk.lock");
    let lock_file = std::fs::File::create(&lock_path).with_context(|| format!("failed to create {}", lock_path.display()))?;
    let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| anyhow::anyhow!("failed to lock {}: {e}", lock_path.display()))?;
    if disk.is_file() {
        return Ok((disk, false));
    }
    let step = Step::start(format!("image disk {}", img.manifest.hash));
    let t = Instant::now();
    let raw = img.dir.join("disk.raw.partial");
    let partial = img.dir.join("disk.qcow2.partial");
    let result = build(img, &raw, &partial, &step);
    let _ = std::fs::remove_file(&raw);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &disk)?;
    step.done(&format!("{} MB qcow2 in {:.1} s", std::fs::metadata(&disk).map(|m| m.len()).unwrap_or(0) / 1_000_000, t.elapsed().as_secs_f64()));
    Ok((disk, true))
}

fn build(img: &Image, raw: &Path, qcow2: &Path, step: &Step) -> Result<()> {
    let roots = img.roots();
    // Room for the packages plus what a lab writes into its overlays: 1.5 x the rootfs + 512 MiB.
    let bytes: u64 = roots.iter().map(|r| du(r)).sum();
    let mib = (bytes as f64 * 1.5 / (1 << 20) as f64) as u64 + 512;
    step.message(&format!("mkfs.ext4 -d ({mib} MiB filesystem)"));
    let mkfs = ["mkfs.ext4", "-q", "-F", "-L", "halabroot", "-d"];
    let (raw, size) = (raw.to_string_lossy(), format!("{mib}M"));
    if roots.len() == 1 {
        let root = roots[0].to_string_lossy();
        cmd::run(mkfs[0], &[&mkfs[1..], &[&*root, &*raw, &size]].concat())
    } else {
        // A layer: the disk holds the layer and its base merged, read from a read-only overlay
        // that lives and dies with a private mount namespace.
        let merged = img.dir.join("merged");
        std::fs::create_dir_all(&merged)?;
        let lower = roots.iter().map(|r| r.to_string_lossy().into_owned()).collect::<Vec<_>>().join(":");
        let script = format!("mount -t overlay halab-disk -o ro,lowerdir={lower} \"$1\" && exec {} \"$1\" \"$2\" \"$3\"", mkfs.join(" "));
        let m = merged.to_string_lossy();
        let r = cmd::run("unshare", &["-m", "--propagation", "private", "sh", "-ec", &script, "disk", &m, &raw, &size]);
        let _ = std::fs::remove_dir(&merged);
        r
    }
    .context("failed to write the rootfs into an ext4 image (e2fsprogs >= 1.43 is needed)")?;
    step.message("qemu-img convert -O qcow2");
    cmd::run("qemu-img", &["convert", "-O", "qcow2", &raw, &qcow2.to_string_lossy()]).context("failed to convert to qcow2 (apt-get install qemu-utils)")?;
    Ok(())
}

/// The image's kernel and initrd, for direct kernel boot.
pub fn kernel_and_initrd(img: &Image) -> Result<(PathBuf, PathBuf)> {
    let boot = img.rootfs().join("boot");
    let mut kernels: Vec<PathBuf> = std::fs::read_dir(&boot)
        .with_context(|| format!("no {}", boot.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-")))
        .collect();
    kernels.sort();
    let Some(kernel) = kernels.pop() else { bail!("the image has no kernel in /boot (the recipe needs linux-image-cloud-amd64)") };
    let version = kernel.file_name().map(|n| n.to_string_lossy().trim_start_matches("vmlinuz-").to_string()).unwrap_or_default();
    let initrd = boot.join(format!("initrd.img-{version}"));
    if !initrd.is_file() {
        bail!("the image has no initrd for kernel {version}");
    }
    Ok((kernel, initrd))
}
