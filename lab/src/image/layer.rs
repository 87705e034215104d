//! A packages layer: extra Debian packages installed over a cached base image, kept as an
//! overlay upper directory of its own and cached under a hash of the base and the package
//! list. netns nodes stack it over the base (`lowerdir=layer:base`); a VM disk is written
//! from the two merged. Built in a private mount namespace (`unshare -m`), so no mount of
//! the build outlives it, whatever happens to halab.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use super::build::{cache_dir, du, Image, Manifest};
use crate::diag::{Diagnostic, InputError};
use crate::progress::Step;
use crate::topology::PlanPackage;

/// Bump when the way a layer is built changes.
const LAYER_VERSION: &str = "halab-layer-1";

/// Exit status of the build script when `apt-cache` knows no such package.
const UNKNOWN_PACKAGE: i32 = 10;

pub fn layer_hash(base: &str, packages: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(LAYER_VERSION.as_bytes());
    h.update(base.as_bytes());
    for p in packages {
        h.update(b"\n");
        h.update(p.as_bytes());
    }
    h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The base image with `packages` installed over it: from the cache, else built now. A
/// package the base's mirrors do not know is bad input at its line in the topology.
pub fn ensure(base: &Image, packages: &[PlanPackage]) -> Result<(Image, bool)> {
    let mut names: Vec<String> = packages.iter().map(|p| p.name.clone()).collect();
    names.sort();
    names.dedup();
    let hash = layer_hash(&base.manifest.hash, &names);
    let root = cache_dir();
    if let Some(img) = super::build::cached_hash(&hash) {
        return Ok((img, true));
    }
    let lock_path = root.join(format!("{hash}.lock"));
    let lock_file = std::fs::File::create(&lock_path).with_context(|| format!("failed to create {}", lock_path.display()))?;
    let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| anyhow::anyhow!("failed to lock {}: {e}", lock_path.display()))?;
    if let Some(img) = super::build::cached_hash(&hash) {
        return Ok((img, true));
    }
    let partial = root.join(format!("{hash}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).with_context(|| format!("failed to remove the stale {}", partial.display()))?;
    }
    for d in ["upper", "work", "merged"] {
        std::fs::create_dir_all(partial.join(d))?;
    }
    let step = Step::start(format!("image layer +{} ({hash})", names.join(" +")));
    let t = Instant::now();
    let result = build(base, &partial, &names, &step);
    // The overlay's work directory is the kernel's scratch space: nothing of the layer.
    let _ = std::fs::remove_dir_all(partial.join("work"));
    let _ = std::fs::remove_dir(partial.join("merged"));
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(match e.downcast::<Unknown>() {
            Ok(Unknown(missing)) => unknown_packages(packages, &missing).into(),
            Err(e) => e,
        });
    }
    let upper = partial.join("upper");
    let mut versions = base.manifest.versions.clone();
    versions.extend(super::build::package_versions(&upper, &names.iter().map(String::as_str).collect::<Vec<_>>()));
    let manifest = Manifest {
        hash: hash.clone(),
        recipe_name: format!("{}+{}", base.manifest.recipe_name, names.join("+")),
        recipe: base.manifest.recipe.clone(),
        built_unix: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        build_seconds: t.elapsed().as_secs_f64(),
        size_bytes: du(&upper),
        versions,
        base: Some(base.manifest.hash.clone()),
        packages: names,
    };
    std::fs::write(partial.join("manifest.json"), serde_json::to_vec_pretty(&manifest)?)?;
    let dir = root.join(&hash);
    std::fs::rename(&partial, &dir).with_context(|| format!("failed to move the layer into {}", dir.display()))?;
    step.done(&format!("{} MB over {} in {:.1} s", manifest.size_bytes / 1_000_000, base.manifest.hash, manifest.build_seconds));
    Ok((Image { dir, manifest }, false))
}

#[derive(Debug)]
struct Unknown(Vec<String>);

impl std::fmt::Display for Unknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown packages: {}", self.0.join(", "))
    }
}

impl std::error::Error for Unknown {}

fn unknown_packages(packages: &[PlanPackage], missing: &[String]) -> InputError {
    let diagnostics = packages
        .iter()
        .filter(|p| missing.contains(&p.name))
        .map(|p| {
            Diagnostic::at(
                &p.at,
                "packages",
                &format!("no Debian package `{}` in the image's mirrors", p.name),
                "check the name with `apt-cache policy NAME` on a Debian 12 machine",
            )
        })
        .collect();
    InputError { diagnostics }
}

/// Installs the packages into an overlay of the base, never starting a service (policy-rc.d)
/// and disabling the units they enabled (halab or the cluster starts what a lab runs).
const SCRIPT: &str = r#"set -e
B="$1"; L="$2"; shift 2
M="$L/merged"
mount -t overlay halab-layer -o "lowerdir=$B,upperdir=$L/upper,workdir=$L/work" "$M"
mount -t proc proc "$M/proc"
mount --rbind /dev "$M/dev"
mount --bind /etc/resolv.conf "$M/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' > "$M/usr/sbin/policy-rc.d"
chmod 755 "$M/usr/sbin/policy-rc.d"
chroot "$M" apt-get -q update >&2
missing=""
for p in "$@"; do
  chroot "$M" apt-cache show --no-all-versions "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then echo "$missing"; exit 10; fi
DEBIAN_FRONTEND=noninteractive chroot "$M" apt-get -q -y --no-install-recommends \
  -o Dpkg::Options::=--path-exclude=/usr/share/man/* \
  -o Dpkg::Options::=--path-exclude=/usr/share/doc/* \
  -o Dpkg::Options::=--path-exclude=/usr/share/locale/* install "$@" >&2
# Units the layer enabled (its own links under /etc/systemd/system), dependencies' too.
units=$(find "$L/upper/etc/systemd/system" -path '*.wants/*' -type l 2>/dev/null | xargs -rn1 basename | sort -u)
[ -z "$units" ] || chroot "$M" systemctl disable $units >&2
rm -f "$M/usr/sbin/policy-rc.d"
chroot "$M" apt-get -q clean
# The lists apt fetched (the base's own lock and partial/ stay: no whiteouts over them).
rm -rf "$M"/var/lib/apt/lists/*_*
"#;

fn build(base: &Image, partial: &Path, names: &[String], step: &Step) -> Result<()> {
    step.message("apt-get update, install (in a private mount namespace)");
    let rootfs = base.rootfs();
    let mut args: Vec<String> = vec!["-m".into(), "--propagation".into(), "private".into(), "sh".into(), "-c".into(), SCRIPT.into(), "layer".into()];
    args.push(rootfs.to_string_lossy().into_owned());
    args.push(partial.to_string_lossy().into_owned());
    args.extend(names.iter().cloned());
    let out = std::process::Command::new("unshare").args(&args).output().context("failed to run unshare")?;
    if out.status.code() == Some(UNKNOWN_PACKAGE) {
        let missing = String::from_utf8_lossy(&out.stdout).split_whitespace().map(String::from).collect();
        return Err(Unknown(missing).into());
    }
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
        anyhow::bail!("installing {} over the image failed ({}); its last lines:\n{}", names.join(", "), out.status, tail.join("\n"));
    }
    Ok(())
}
