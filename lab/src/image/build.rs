//! recipe -> Debian rootfs with mmdebstrap, cached under its content hash.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::recipe::Recipe;
use crate::progress::Step;

pub const CACHE_DIR: &str = "/var/cache/halab/images";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub hash: String,
    pub recipe_name: String,
    pub recipe: Recipe,
    pub built_unix: u64,
    pub build_seconds: f64,
    pub size_bytes: u64,
    /// Versions of the packages reports quote (pacemaker, corosync, keepalived, conntrackd...).
    pub versions: std::collections::BTreeMap<String, String>,
    /// A packages layer: the hash of the image it lies over (`super::layer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The layer's extra packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
}

/// A built image: where its rootfs is.
#[derive(Debug, Clone)]
pub struct Image {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl Image {
    /// The base rootfs (a layer's is its base's).
    pub fn rootfs(&self) -> PathBuf {
        match &self.manifest.base {
            Some(base) => cache_dir().join(base).join("rootfs"),
            None => self.dir.join("rootfs"),
        }
    }

    /// Its packages layer (the overlay upper directory `super::layer` kept), if it is one.
    pub fn layers(&self) -> Vec<PathBuf> {
        self.manifest.base.iter().map(|_| self.dir.join("upper")).collect()
    }

    /// Every directory the image's files come from, top first: the layer, then the base.
    pub fn roots(&self) -> Vec<PathBuf> {
        self.layers().into_iter().chain([self.rootfs()]).collect()
    }
}

pub fn cache_dir() -> PathBuf {
    std::env::var_os("HALAB_IMAGE_CACHE").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(CACHE_DIR))
}

/// The cached image for this recipe, if it was built.
pub fn cached(recipe: &Recipe) -> Option<Image> {
    cached_hash(&recipe.hash())
}

/// The cached image (or layer) with this hash.
pub fn cached_hash(hash: &str) -> Option<Image> {
    let dir = cache_dir().join(hash);
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    let manifest: Manifest = serde_json::from_str(&text).ok()?;
    Some(Image { dir, manifest })
}

/// Build (or find in the cache) the image of a recipe.
pub fn ensure(recipe_path: &Path, recipe: &Recipe) -> Result<(Image, bool)> {
    if let Some(img) = cached(recipe) {
        return Ok((img, true));
    }
    let root = cache_dir();
    std::fs::create_dir_all(&root).with_context(|| format!("failed to create {}", root.display()))?;
    // One builder per hash; a second caller waits and then finds the cache filled.
    let lock_path = root.join(format!("{}.lock", recipe.hash()));
    let lock_file = std::fs::File::create(&lock_path).with_context(|| format!("failed to create {}", lock_path.display()))?;
    let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| anyhow::anyhow!("failed to lock {}: {e}", lock_path.display()))?;
    if let Some(img) = cached(recipe) {
        return Ok((img, true));
    }
    let name = recipe_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    build(&root, &name, recipe).map(|i| (i, false))
}

fn build(root: &Path, name: &str, recipe: &Recipe) -> Result<Image> {
    which("mmdebstrap").context("mmdebstrap is needed to build images: apt-get install mmdebstrap")?;
    let hash = recipe.hash();
    let partial = root.join(format!("{hash}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).with_context(|| format!("failed to remove the stale {}", partial.display()))?;
    }
    let rootfs = partial.join("rootfs");
    // mmdebstrap wants an existing, empty target directory.
    std::fs::create_dir_all(&rootfs)?;
    let step = Step::start(format!("image build {name} ({hash})"));
    let start = Instant::now();
    let result = run_mmdebstrap(recipe, &rootfs, &step).and_then(|_| write_files(recipe, &rootfs)).and_then(|_| set_units(recipe, &rootfs));
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    let versions = package_versions(&rootfs, QUOTED);
    let manifest = Manifest {
        hash: hash.clone(),
        recipe_name: name.to_string(),
        recipe: recipe.clone(),
        built_unix: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        build_seconds: start.elapsed().as_secs_f64(),
        size_bytes: du(&rootfs),
        versions,
        base: None,
        packages: Vec::new(),
    };
    std::fs::write(partial.join("manifest.json"), serde_json::to_vec_pretty(&manifest)?)?;
    let dir = root.join(&hash);
    std::fs::rename(&partial, &dir).with_context(|| format!("failed to move the image into {}", dir.display()))?;
    step.done(&format!("built, {} MB", manifest.size_bytes / 1_000_000));
    Ok(Image { dir, manifest })
}

fn run_mmdebstrap(recipe: &Recipe, rootfs: &Path, step: &Step) -> Result<()> {
    // Runs after packages are in: no machine-id, no SSH host keys (every node gets its own),
    // and no unit enabled that halab starts itself.
    let mut hook = String::from("rm -f \"$1\"/etc/ssh/ssh_host_*_key* \"$1\"/var/lib/dbus/machine-id; : > \"$1\"/etc/machine-id; ");
    for s in &recipe.disable_services {
        hook.push_str(&format!("chroot \"$1\" systemctl disable {s} >/dev/null 2>&1 || true; "));
    }
    let mut cmd = Command::new("mmdebstrap");
    cmd.arg(format!("--variant={}", recipe.variant))
        .arg(format!("--include={}", recipe.packages.join(",")))
        .arg("--dpkgopt=path-exclude=/usr/share/man/*")
        .arg("--dpkgopt=path-exclude=/usr/share/doc/*")
        .arg("--dpkgopt=path-include=/usr/share/doc/*/copyright")
        .arg("--dpkgopt=path-exclude=/usr/share/locale/*")
        .arg("--aptopt=APT::Install-Recommends \"false\"")
        .arg(format!("--customize-hook={hook}"))
        .arg(&recipe.suite)
        .arg(format!("{}/", rootfs.display()))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().context("failed to start mmdebstrap")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(recipe.mirrors.join("\n").as_bytes())?;
        stdin.write_all(b"\n")?;
    }
    let stdout = child.stdout.take();
    let out_thread = std::thread::spawn(move || {
        let mut tail = Vec::new();
        if let Some(o) = stdout {
            for line in BufReader::new(o).lines().map_while(Result::ok) {
                tail.push(line);
            }
        }
        tail
    });
    let mut tail: Vec<String> = Vec::new();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if line.starts_with("I: ") {
                step.message(line.trim_start_matches("I: "));
            }
            tail.push(line);
            if tail.len() > 30 {
                tail.remove(0);
            }
        }
    }
    let status = child.wait()?;
    let _ = out_thread.join();
    if !status.success() {
        bail!("mmdebstrap failed ({status}); its last lines:\n{}", tail.join("\n"));
    }
    Ok(())
}

fn write_files(recipe: &Recipe, rootfs: &Path) -> Result<()> {
    for (path, content) in &recipe.files {
        let rel = path.trim_start_matches('/');
        if rel.split('/').any(|c| c == "..") {
            bail!("image file path `{path}` must not contain `..`");
        }
        let dest = rootfs.join(rel);
        if let Some(p) = dest.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::write(&dest, content).with_context(|| format!("failed to write {}", dest.display()))?;
    }
    Ok(())
}

/// Enable and mask the recipe's units offline (`systemctl` in a chroot needs no running
/// systemd), then run the recipe's commands.
fn set_units(recipe: &Recipe, rootfs: &Path) -> Result<()> {
    let root = rootfs.to_string_lossy();
    for (verb, units) in [("enable", &recipe.enable_services), ("mask", &recipe.mask_services)] {
        if units.is_empty() {
            continue;
        }
        let mut args = vec![&*root, "systemctl", "--quiet", verb];
        args.extend(units.iter().map(String::as_str));
        crate::cmd::run("chroot", &args).with_context(|| format!("failed to {verb} {} in the image", units.join(", ")))?;
    }
    for c in &recipe.commands {
        crate::cmd::run("chroot", &[&*root, "sh", "-ec", c]).with_context(|| format!("the recipe's command `{c}` failed in the image"))?;
    }
    Ok(())
}

/// Packages reports quote (pacemaker, corosync, keepalived, conntrackd...).
const QUOTED: &[&str] =
    &["pacemaker", "corosync", "keepalived", "conntrackd", "nftables", "openssh-server", "iperf3", "linux-image-cloud-amd64", "crmsh", "resource-agents"];

/// Versions of `names` as the dpkg database under `root` has them (a rootfs, or a layer's
/// upper directory, which holds a full copy of the database it changed).
pub fn package_versions(root: &Path, names: &[&str]) -> std::collections::BTreeMap<String, String> {
    let admindir = root.join("var/lib/dpkg");
    let out = Command::new("dpkg-query").arg(format!("--admindir={}", admindir.display())).args(["-W", "-f", "${Package} ${Version}\\n"]).args(names).output();
    let mut map = std::collections::BTreeMap::new();
    if let Ok(o) = out {
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            if let Some((p, v)) = line.split_once(' ') {
                map.insert(p.to_string(), v.to_string());
            }
        }
    }
    map
}

pub fn du(path: &Path) -> u64 {
    Command::new("du")
        .args(["-sxb"])
        .arg(path)
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().next().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

pub fn which(tool: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].iter().map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .ok_or_else(|| anyhow::anyhow!("`{tool}` was not found in PATH"))
}

/// Every cached image.
pub fn list() -> Vec<Image> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(cache_dir()) {
        for e in rd.flatten() {
            let dir = e.path();
            if let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) {
                if let Ok(manifest) = serde_json::from_str(&text) {
                    out.push(Image { dir, manifest });
                }
            }
        }
    }
    out.sort_by_key(|i| i.manifest.built_unix);
    out
}

/// Remove a cached image by hash or recipe name; refuses while a lab uses it.
pub fn remove(which: &str) -> Result<String> {
    let Some(img) = list().into_iter().find(|i| i.manifest.hash == which || i.manifest.recipe_name == which) else {
        bail!("no cached image `{which}` (see `halab image ls`)");
    };
    // A base goes with the layers over it.
    let doomed: Vec<Image> =
        list().into_iter().filter(|i| i.manifest.hash == img.manifest.hash || i.manifest.base.as_ref() == Some(&img.manifest.hash)).collect();
    for lab in crate::ledger::all_labs() {
        if let Some(i) = doomed.iter().find(|i| crate::labstate::LabState::load(&lab).is_ok_and(|s| s.image_hash == i.manifest.hash)) {
            bail!("image {} is used by lab `{lab}`: `halab down {lab}` first", i.manifest.hash);
        }
    }
    for i in &doomed {
        std::fs::remove_dir_all(&i.dir).with_context(|| format!("failed to remove {}", i.dir.display()))?;
    }
    Ok(doomed.iter().map(|i| i.manifest.hash.clone()).collect::<Vec<_>>().join(" "))
}
