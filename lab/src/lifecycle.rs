//! Lab lifecycle, the same for every provider: up (with rollback), down from the ledger alone,
//! gc. What a provider does at each step is its own (`crate::provider`).

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::cmd;
use crate::image;
use crate::lab::Lab;
use crate::labstate::{choose_management, LabState, ProviderState};
use crate::ledger::{all_labs, lab_dir, state_root, Ledger, Object, Phase};
use crate::progress::{info, Step};
use crate::provider;
use crate::topology::Plan;

/// How a lab is brought up.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    pub provider: provider::Options,
    /// Leave a lab whose stack did not get ready up for inspection (an interrupt always rolls
    /// back).
    pub keep_on_failure: bool,
    /// This process holds the lab: once it is gone, `gc` removes the lab (`halab run`).
    pub held: bool,
}

/// Build or find the lab's image, then bring the lab up on its provider and start its stack.
/// On any failure or interrupt the lab is torn down again and the error returned.
pub fn up(plan: &Plan, opts: &UpOptions) -> Result<Lab> {
    let prov = provider::get(&opts.provider.provider)?;
    let plan = &for_provider(plan, prov, opts)?;
    prov.preflight()?;
    let img = image_of(plan)?;
    crate::interrupt::check()?;
    let (lab, mut ledger) = claim(plan, prov, opts, &img)?;
    match prov
        .up(lab.state(), &mut ledger, &img)
        .and_then(|_| crate::stack::service::install(&lab))
        .and_then(|_| crate::fencer::start(&lab, &mut ledger))
        .and_then(|_| crate::stack::bring_up(&lab))
    {
        Ok(()) => {
            ledger.set_phase(Phase::Up)?;
            Ok(lab)
        }
        Err(e) if opts.keep_on_failure && !crate::interrupt::interrupted() => {
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

/// The plan as this provider runs it: `--image` applied, fencing resolved, and refused where
/// the provider cannot run its nodes or kernel modules.
fn for_provider(plan: &Plan, prov: &dyn provider::Provider, opts: &UpOptions) -> Result<Plan> {
    let mut plan = plan.clone();
    if let Some(image) = &opts.provider.image {
        plan.image = image.clone();
    }
    crate::fence::resolve(&mut plan, prov.name(), prov.fence_methods())?;
    crate::topology::kernel::check(&plan, prov.name(), prov.own_kernel())?;
    crate::topology::placement::check(&plan, prov.name(), prov.takes_netns_nodes())?;
    Ok(plan)
}

/// The plan's image (with its packages layer), from the cache or built now, checked against
/// what the plan needs of it (agents).
fn image_of(plan: &Plan) -> Result<image::build::Image> {
    let recipe_path =
        image::recipe::find(&plan.image, Some(&plan.topology)).with_context(|| format!("no image recipe `{}` (looked in images/)", plan.image))?;
    let recipe = image::Recipe::load(&recipe_path)?;
    let (mut img, _) = image::ensure(&recipe_path, &recipe)?;
    if !plan.packages.is_empty() {
        img = image::layer::ensure(&img, &plan.packages)?.0;
    }
    crate::topology::at_up::check_at_up(plan, &img.roots())?;
    Ok(img)
}

/// Claim the lab's name and a management subnet under one lock, and record the lab's state
/// and its (empty) ledger.
fn claim(plan: &Plan, prov: &dyn provider::Provider, opts: &UpOptions, img: &image::build::Image) -> Result<(Lab, Ledger)> {
    let _lock = global_lock()?;
    if lab_dir(&plan.lab).exists() {
        bail!("a lab named `{}` exists already: `halab down {}` first, or choose another --name", plan.lab, plan.lab);
    }
    if let Some(other) = all_labs().into_iter().filter_map(|l| Ledger::open(&l).ok()).find(|l| l.data.id == plan.id) {
        bail!("lab `{}` has the same short id {} as `{}`: choose another --name", plan.lab, plan.id, other.data.lab);
    }
    let settings = prov.decide(plan, &opts.provider, img)?;
    let mgmt = match prov.management(&settings)? {
        Some(m) => m,
        None => choose_management(plan)?,
    };
    let mut st = LabState {
        plan: plan.clone(),
        provider: ProviderState { kind: prov.name().into(), settings },
        management: mgmt.subnet,
        host_addr: mgmt.host_addr,
        mgmt_addrs: mgmt.nodes,
        image_hash: img.manifest.hash.clone(),
        rootfs: img.rootfs(),
        layers: img.layers(),
        footprint: plan.cluster.as_ref().map(crate::stack::footprint).unwrap_or_default(),
    };
    let scale = prov.fence_delay_scale(&st);
    if let Some(cl) = st.plan.cluster.as_mut() {
        cl.fencing.scale_default_delay(scale);
    }
    let mut ledger = Ledger::create(&plan.lab, &plan.id, prov.name())?;
    if opts.held {
        ledger.hold()?;
    }
    st.save()?;
    Ok((Lab::new(st)?, ledger))
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
    crate::fencer::stop(&ledger);
    let mut errors = Vec::new();
    if let Err(e) = provider::get(&ledger.data.provider).and_then(|p| p.teardown(&ledger)) {
        errors.push(e);
    }
    // Mounts on the host: node roots are mounted only inside nodes and vanish with them; any
    // host mount below the lab dir is a bug, removed anyway.
    let lab_path = ledger.dir().to_path_buf();
    let mut mounts = host_mounts_below(&lab_path);
    mounts.extend(ledger.data.objects.iter().filter_map(|o| match o {
        Object::Mount { path } => host_mounts_below(path).into_iter().find(|m| Path::new(m) == path),
        _ => None,
    }));
    for m in mounts {
        if let Err(e) = cmd::run("umount", &["-l", &m]) {
            errors.push(e);
        }
    }
    if let Some(e) = errors.into_iter().next() {
        return Err(e.context("some objects could not be removed; the ledger is kept: run `halab down` again"));
    }
    // Directories, the lab's own last.
    let root = state_root();
    let mut dirs: Vec<&Path> = ledger.data.objects.iter().filter_map(|o| if let Object::Dir { path } = o { Some(path.as_path()) } else { None }).collect();
    dirs.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for d in dirs {
        if d.starts_with(&root) && d != root && d.exists() {
            std::fs::remove_dir_all(d).with_context(|| format!("failed to remove {}", d.display()))?;
        }
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
        Phase::Creating | Phase::Destroying if !l.owner_alive() => Some(format!("its halab process {} is gone while {}", l.data.owner_pid, l.data.phase)),
        Phase::Up if l.data.held && !l.owner_alive() => Some(format!("the halab run that held it (pid {}) is gone", l.data.owner_pid)),
        Phase::Up => provider::get(&l.data.provider).ok()?.garbage_reason(l),
        _ => None,
    }
}

/// Remove the labs whose halab process is gone (an interrupted or killed up/down/run, or a
/// lab whose nodes died); only those of `only` when it names any (a named lab that is not
/// garbage is left alone). Returns the labs removed.
pub fn gc(only: &[String]) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for lab in all_labs().into_iter().filter(|l| only.is_empty() || only.contains(l)) {
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
