//! Lab lifecycle across providers: up (with rollback), down from the ledger alone, gc, ls.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::cmd;
use crate::image;
use crate::labstate::{choose_management, LabState};
use crate::ledger::{all_labs, lab_dir, process_alive, state_root, Ledger, Object, Phase};
use crate::progress::{info, Step};
use crate::provider::{netns, Kind};
use crate::topology::Plan;

/// Build or find the lab's image, then bring the lab up. On any failure or interrupt the
/// lab is torn down again and the error returned.
/// With `keep_on_failure`, a lab whose stack did not get ready is left up for inspection
/// (`halab down` removes it); an interrupt always rolls back.
pub fn up(plan: &Plan, keep_on_failure: bool) -> Result<LabState> {
    up_on(plan, keep_on_failure, &Target::default())
}

/// Where a lab goes: the provider and, for libvirt, the connection URI.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub provider: Kind,
    pub libvirt_uri: Option<String>,
}

pub fn up_on(plan: &Plan, keep_on_failure: bool, target: &Target) -> Result<LabState> {
    preflight(target.provider)?;
    let recipe_path =
        image::recipe::find(&plan.image, Some(&plan.topology)).with_context(|| format!("no image recipe `{}` (looked in images/)", plan.image))?;
    let recipe = image::Recipe::load(&recipe_path)?;
    let (img, _) = image::ensure(&recipe_path, &recipe)?;
    crate::interrupt::check()?;
    let (st, mut ledger) = {
        // Choosing a management subnet and claiming the lab's name happen under one lock.
        let _lock = global_lock()?;
        if lab_dir(&plan.lab).exists() {
            anyhow::bail!("a lab named `{}` exists already: `halab down {}` first, or choose another --name", plan.lab, plan.lab);
        }
        if let Some(other) = all_labs().into_iter().filter_map(|l| Ledger::open(&l).ok()).find(|l| l.data.id == plan.id) {
            anyhow::bail!("lab `{}` has the same short id {} as `{}`: choose another --name", plan.lab, plan.id, other.data.lab);
        }
        let management = choose_management(plan.management, plan.nodes.len())?;
        let libvirt = libvirt_state(target, &img)?;
        let st = LabState { plan: plan.clone(), provider: target.provider, management, image_hash: img.manifest.hash.clone(), rootfs: img.rootfs(), libvirt };
        let ledger = Ledger::create(&plan.lab, &plan.id, &target.provider.to_string())?;
        st.save()?;
        (st, ledger)
    };
    let provider_up = match target.provider {
        Kind::Netns => netns::up(&st, &mut ledger),
        #[cfg(feature = "libvirt")]
        Kind::Libvirt => crate::provider::libvirt::up::up(&st, &mut ledger, &img),
        #[cfg(not(feature = "libvirt"))]
        Kind::Libvirt => Err(anyhow::anyhow!(crate::provider::NO_LIBVIRT)),
    };
    match provider_up.and_then(|_| crate::stack::bring_up(&st)) {
        Ok(()) => {
            ledger.set_phase(Phase::Up)?;
            Ok(st)
        }
        Err(e) if keep_on_failure && !crate::interrupt::interrupted() => {
            ledger.set_phase(Phase::Up)?;
            info(&format!("up failed; the lab is kept for inspection: `halab status {}`, then `halab down {}`", plan.lab, plan.lab));
            Err(e)
        }
        Err(e) => {
            let why = if crate::interrupt::interrupted() { "interrupted" } else { "failed" };
            info(&format!("up {why}: removing what was created"));
            if let Err(d) = teardown(ledger) {
                info(&format!("rollback incomplete ({d:#}): run `halab down {}`", plan.lab));
            }
            Err(e)
        }
    }
}

fn preflight(kind: Kind) -> Result<()> {
    if !nix::unistd::Uid::effective().is_root() {
        anyhow::bail!("halab needs root (namespaces, bridges, mounts, libvirt's system URI): run halab as root");
    }
    for tool in ["ip", "nsenter", "unshare", "ssh-keygen"] {
        image::build::which(tool).with_context(|| format!("`{tool}` is needed: apt-get install iproute2 util-linux openssh-client"))?;
    }
    if kind == Kind::Libvirt {
        for tool in ["qemu-img", "tar", "mkfs.ext4"] {
            image::build::which(tool).with_context(|| format!("`{tool}` is needed by the libvirt provider: apt-get install qemu-utils e2fsprogs tar"))?;
        }
    }
    Ok(())
}

#[cfg(feature = "libvirt")]
fn libvirt_state(target: &Target, img: &image::Image) -> Result<Option<crate::labstate::LibvirtState>> {
    if target.provider != Kind::Libvirt {
        return Ok(None);
    }
    let uri = target.libvirt_uri.clone().or_else(|| std::env::var("HALAB_LIBVIRT_URI").ok()).unwrap_or_else(|| crate::provider::libvirt::DEFAULT_URI.into());
    let (kernel, _) = image::disk::kernel_and_initrd(img)?;
    let kvm = crate::provider::libvirt::accel::kvm_works(&kernel);
    Ok(Some(crate::labstate::LibvirtState { uri, kvm }))
}

#[cfg(not(feature = "libvirt"))]
fn libvirt_state(target: &Target, _: &image::Image) -> Result<Option<crate::labstate::LibvirtState>> {
    if target.provider == Kind::Libvirt {
        anyhow::bail!(crate::provider::NO_LIBVIRT);
    }
    Ok(None)
}

fn global_lock() -> Result<nix::fcntl::Flock<std::fs::File>> {
    std::fs::create_dir_all(state_root())?;
    let f = std::fs::File::create(state_root().join(".lock"))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| anyhow::anyhow!("failed to lock the lab registry: {e}"))
}

/// Remove a lab: everything in its ledger, and nothing else.
pub fn down(lab: &str) -> Result<()> {
    let ledger = Ledger::open(lab)?;
    let step = Step::start(format!("down {lab}"));
    teardown(ledger)?;
    step.done("removed");
    Ok(())
}

fn teardown(mut ledger: Ledger) -> Result<()> {
    ledger.set_phase(Phase::Destroying)?;
    let objs = ledger.data.objects.clone();
    let lab_path = ledger.dir().to_path_buf();
    // 1. Processes: node inits (a power cut of every node), then the supervisor.
    netns::kill_processes(&ledger, |w| w.starts_with("init "))?;
    netns::kill_processes(&ledger, |_| true)?;
    // 2. Links: the host's management veth, synchronously (its name lives in the host
    //    namespace, so a quick re-`up` must not find it). Links inside a namespace that goes
    //    too are left to the kernel's (asynchronous, batched) namespace cleanup: deleting
    //    veths one by one costs an RCU grace period each.
    let mut errors = Vec::new();
    let mut by_ns: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for o in &objs {
        match o {
            Object::Link { netns: None, name } => {
                if let Err(e) = host_link_del(name) {
                    errors.push(e);
                }
            }
            Object::Link { netns: Some(ns), name } => by_ns.entry(ns.as_str()).or_default().push(name.as_str()),
            _ => {}
        }
    }
    let doomed: Vec<&str> = objs.iter().filter_map(|o| if let Object::Netns { name } = o { Some(name.as_str()) } else { None }).collect();
    for (ns, links) in by_ns {
        if netns::wiring::netns_exists(ns) && !doomed.contains(&ns) {
            let batch: String = links.iter().map(|l| format!("link del {l}\n")).collect();
            // -force: go on past links that are gone already; what is left is checked below.
            let _ = cmd::run_input("ip", &["-force", "-n", ns, "-batch", "-"], Some(&batch));
            let left = cmd::run("ip", &["-n", ns, "-o", "link"]).unwrap_or_default();
            let remaining: Vec<&&str> = links.iter().filter(|l| left.contains(&format!(": {l}@"))).collect();
            if !remaining.is_empty() {
                errors.push(anyhow::anyhow!("links {remaining:?} in {ns} could not be deleted"));
            }
        }
    }
    // 3. Namespaces, in one batch.
    let names: Vec<&str> = doomed.iter().copied().filter(|n| netns::wiring::netns_exists(n)).collect();
    if !names.is_empty() {
        let batch: String = names.iter().map(|n| format!("netns del {n}\n")).collect();
        let _ = cmd::run_input("ip", &["-force", "-batch", "-"], Some(&batch));
        for n in names.iter().filter(|n| netns::wiring::netns_exists(n)) {
            errors.push(anyhow::anyhow!("network namespace {n} could not be deleted"));
        }
    }
    // 4. Mounts on the host (node roots are mounted only inside the nodes and vanish with
    //    them; any host mount below the lab dir is a bug, removed anyway).
    for m in host_mounts_below(&lab_path) {
        if let Err(e) = cmd::run("umount", &["-l", &m]) {
            errors.push(e);
        }
    }
    for o in &objs {
        if let Object::Mount { path } = o {
            let p = path.to_string_lossy().into_owned();
            if host_mounts_below(path).contains(&p) {
                let _ = cmd::run("umount", &["-l", &p]);
            }
        }
    }
    // 5a. The lab's own nft tables in the host (loss on VM taps).
    for o in &objs {
        if let Object::NftTable { family, name } = o {
            if cmd::run("nft", &["list", "table", family, name]).is_ok() {
                if let Err(e) = cmd::run("nft", &["delete", "table", family, name]) {
                    errors.push(e);
                }
            }
        }
    }
    // 5b. libvirt domains, then networks (their overlays and identities are files below).
    if objs.iter().any(|o| matches!(o, Object::Domain { .. } | Object::Network { .. })) {
        #[cfg(feature = "libvirt")]
        if let Err(e) = crate::provider::libvirt::conn::remove_objects(&objs) {
            errors.push(e);
        }
        #[cfg(not(feature = "libvirt"))]
        errors.push(anyhow::anyhow!(crate::provider::NO_LIBVIRT));
    }
    if let Some(e) = errors.into_iter().next() {
        return Err(e.context("some objects could not be removed; the ledger is kept: run `halab down` again"));
    }
    // 6. Directories, the lab's own last.
    let root = state_root();
    let mut dirs: Vec<&Path> = objs.iter().filter_map(|o| if let Object::Dir { path } = o { Some(path.as_path()) } else { None }).collect();
    dirs.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for d in dirs {
        if d.starts_with(&root) && d != root && d.exists() {
            std::fs::remove_dir_all(d).with_context(|| format!("failed to remove {}", d.display()))?;
        }
    }
    Ok(())
}

fn host_link_del(name: &str) -> Result<()> {
    if Path::new("/sys/class/net").join(name).exists() {
        cmd::run("ip", &["link", "del", name])?;
    }
    Ok(())
}

fn host_mounts_below(dir: &Path) -> Vec<String> {
    let prefix = dir.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|m| m.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

/// Why a lab is garbage, or None when it is alive.
pub fn garbage_reason(l: &Ledger) -> Option<String> {
    match l.data.phase {
        Phase::Creating | Phase::Destroying if !l.owner_alive() => {
            Some(format!("its halab process {} is gone while {:?}", l.data.owner_pid, l.data.phase).to_lowercase())
        }
        Phase::Up if l.data.provider == "libvirt" => {
            // VMs live in libvirt, not under a halab process: garbage once none of them exists.
            let doms: Vec<&Object> = l.data.objects.iter().filter(|o| matches!(o, Object::Domain { .. })).collect();
            #[cfg(feature = "libvirt")]
            let any = doms.iter().any(|o| match o {
                Object::Domain { uri, name } => {
                    let name = name.clone();
                    crate::provider::libvirt::conn::with_conn(uri, move |c| Ok(c.lookup_domain_by_name(&name).is_ok())).unwrap_or(true)
                }
                _ => false,
            });
            #[cfg(not(feature = "libvirt"))]
            let any = true;
            (!doms.is_empty() && !any).then(|| "none of its VMs exists any more".into())
        }
        Phase::Up => {
            let sup = l.data.objects.iter().find_map(|o| match o {
                Object::Process { pid, start_time, what } if what == "supervisor" => Some((*pid, *start_time)),
                _ => None,
            });
            match sup {
                Some((pid, st)) if process_alive(pid, st) => None,
                _ => Some("its supervisor is gone".into()),
            }
        }
        _ => None,
    }
}

/// Remove the labs whose halab process is gone (an interrupted or killed up/down, or a lab
/// whose supervisor died). Returns the labs removed.
pub fn gc() -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for lab in all_labs() {
        let Ok(l) = Ledger::open(&lab) else { continue };
        if let Some(why) = garbage_reason(&l) {
            info(&format!("gc: removing lab `{lab}`: {why}"));
            let t = Instant::now();
            teardown(l)?;
            info(&format!("gc: `{lab}` removed in {:.2} s", t.elapsed().as_secs_f64()));
            removed.push(lab);
        }
    }
    Ok(removed)
}
