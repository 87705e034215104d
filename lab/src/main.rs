//! The `halab` command line: parse, call the library, map errors to exit codes
//! (0 ok, 1 an expectation failed, 2 bad input, 3 infrastructure error).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use halab::diag::InputError;
use halab::labstate::LabState;
use halab::provider::{netns, Kind};
use std::io::Write;

#[derive(Parser)]
#[command(name = "halab", version, about = "Lab provisioner for Linux high-availability clusters")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Check a topology or scenario file; print every problem with file:line:col.
    Validate { file: PathBuf },
    /// Print the resolved plan of a topology (YAML, or JSON with --json).
    Plan {
        file: PathBuf,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Build a lab from a topology and wait until it is ready.
    Up {
        file: PathBuf,
        /// Lab name (default: the topology's); run several labs from one topology side by side.
        #[arg(long)]
        name: Option<String>,
        /// Where the lab runs: netns (namespaces, seconds) or libvirt (Debian VMs).
        #[arg(long, value_enum, default_value_t = Kind::Netns)]
        provider: Kind,
        /// libvirt connection URI (default qemu:///system, or HALAB_LIBVIRT_URI).
        #[arg(long)]
        libvirt_uri: Option<String>,
        /// Override the topology's `cluster.stack`.
        #[arg(long, value_enum)]
        stack: Option<StackArg>,
        /// Leave the lab up when its stack does not get ready (to look at it).
        #[arg(long)]
        keep_on_failure: bool,
    },
    /// Move every VIP (and the promoted conntrackd) to another member; returns when ready.
    Switchover {
        lab: String,
        #[arg(long)]
        to: Option<String>,
    },
    /// Print a node's daemon logs (without a daemon: list them).
    Logs { lab: String, node: String, daemon: Option<String> },
    /// Remove a lab: exactly what its ledger recorded.
    Down { lab: String },
    /// Nodes, addresses and links of a lab.
    Status {
        lab: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List labs.
    Ls,
    /// Run a command inside a node.
    Exec {
        lab: String,
        node: String,
        #[arg(last = true, required = true)]
        cmd: Vec<String>,
    },
    /// SSH into a node over the management network (host key pinned).
    Ssh {
        lab: String,
        node: String,
        #[arg(last = true)]
        cmd: Vec<String>,
    },
    /// Pull or plug a node's cable (the node sees NO-CARRIER).
    Link { lab: String, node: String, iface: String, state: LinkState },
    /// Drop PERCENT % of a node interface's frames on the fabric side (100 = a clean cut, 0 = none).
    Loss { lab: String, node: String, iface: String, percent: u32 },
    /// Power a node off (a power cut), on, reboot, freeze or thaw it.
    Power { lab: String, node: String, action: PowerAction },
    /// Run a scenario: a fresh lab per stack and repeat, faults under load, measured.
    Run {
        scenario: PathBuf,
        /// Only these stacks (default: the scenario's).
        #[arg(long, value_enum, value_delimiter = ',')]
        stack: Vec<StackArg>,
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Leave the lab up after the run.
        #[arg(long)]
        keep: bool,
        /// Run folder (default reports/runs/<time>-<scenario>).
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Where the labs run: netns (default) or libvirt (Debian VMs).
        #[arg(long, value_enum, default_value_t = Kind::Netns)]
        provider: Kind,
        #[arg(long)]
        libvirt_uri: Option<String>,
    },
    /// Run a matrix (scenario x stack x repeat) and write the report (Markdown, HTML, JSON, JUnit).
    Bench {
        /// Scenario files (default: scp-survives-failover, cable-pull-inet, switchover).
        scenarios: Vec<PathBuf>,
        #[arg(long, value_enum, value_delimiter = ',', default_value = "keepalived,pacemaker")]
        stacks: Vec<StackArg>,
        #[arg(long, default_value_t = 3)]
        repeat: u32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(short, long, default_value = "reports/bench")]
        out: PathBuf,
        /// Where the labs run: netns (default) or libvirt (Debian VMs).
        #[arg(long, value_enum, default_value_t = Kind::Netns)]
        provider: Kind,
        #[arg(long)]
        libvirt_uri: Option<String>,
    },
    /// Re-render a report from run folders, without running anything.
    Report {
        #[arg(required = true)]
        runs: Vec<PathBuf>,
        #[arg(short, long)]
        out: PathBuf,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Remove the leftovers of labs whose halab process is gone.
    Gc,
    /// Images: build, list, remove.
    #[command(subcommand)]
    Image(ImageCmd),
    #[command(flatten)]
    InNode(halab::node::cli::NodeCmd),
    #[command(name = "_init", hide = true)]
    Init { config: PathBuf },
    #[command(name = "_supervise", hide = true)]
    Supervise { lab_dir: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
enum StackArg {
    None,
    Keepalived,
    Pacemaker,
}

#[derive(Clone, Copy, ValueEnum)]
enum LinkState {
    Up,
    Down,
}

#[derive(Clone, Copy, ValueEnum)]
enum PowerAction {
    Off,
    On,
    Reboot,
    /// Every process of the node stops (a VM is suspended); `thaw` resumes.
    Freeze,
    Thaw,
}

#[derive(Subcommand)]
enum ImageCmd {
    /// Build a recipe (default: debian-bookworm-ha); a cached build returns at once.
    Build { recipe: Option<String> },
    /// Build (or find) the qcow2 VM disk of an image (for the libvirt provider).
    Disk { recipe: Option<String> },
    /// List cached images.
    Ls,
    /// Remove a cached image (by hash or recipe name).
    Rm { image: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Some(input) = e.downcast_ref::<InputError>() {
                eprint!("halab: {input}");
                return ExitCode::from(2);
            }
            if e.downcast_ref::<halab::interrupt::Interrupted>().is_some() {
                eprintln!("halab: interrupted; nothing was left behind");
                return ExitCode::from(130);
            }
            eprintln!("halab: error: {e:#}");
            ExitCode::from(3)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.cmd {
        Cmd::Validate { file } => {
            // A scenario has top-level `steps:`; anything else is read as a topology.
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if text.lines().any(|l| l.starts_with("steps:")) {
                let sc = halab::scenario::load(&file)?;
                println!(
                    "{}: ok (scenario {}, {} steps, {} expectations, on {})",
                    file.display(),
                    sc.name,
                    sc.steps.len(),
                    sc.expect.len(),
                    sc.topology.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            let plan = halab::topology::load(&file, None)?;
            println!("{}: ok ({} networks, {} nodes)", file.display(), plan.networks.len(), plan.nodes.len());
        }
        Cmd::Plan { file, name, json } => {
            let plan = halab::topology::load(&file, name.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
            } else {
                print!("{}", halab::yaml::to_string(&plan)?);
            }
        }
        Cmd::Up { file, name, provider, libvirt_uri, stack, keep_on_failure } => {
            halab::interrupt::install();
            let mut plan = halab::topology::load(&file, name.as_deref())?;
            if let Some(s) = stack {
                let Some(cl) = plan.cluster.as_mut() else {
                    anyhow::bail!("{} has no `cluster:` section, so --stack has nothing to run on", file.display());
                };
                cl.stack = stack_of(s);
                if cl.stack == halab::topology::Stack::Pacemaker && cl.corosync.links.is_empty() {
                    anyhow::bail!("{}: pacemaker needs a corosync link: set `cluster.sync.network` or `cluster.corosync.link`", file.display());
                }
            }
            let t = std::time::Instant::now();
            let st = halab::lifecycle::up_on(&plan, keep_on_failure, &halab::lifecycle::Target { provider, libvirt_uri })?;
            println!(
                "lab {} is up ({} {}, {:.2} s); management {} ; try: halab status {}",
                st.plan.lab,
                st.plan.nodes.len(),
                if st.provider == Kind::Libvirt { "VMs" } else { "nodes" },
                t.elapsed().as_secs_f64(),
                st.management,
                st.plan.lab
            );
        }
        Cmd::Down { lab } => {
            halab::interrupt::install();
            halab::lifecycle::down(&lab)?;
        }
        Cmd::Status { lab, json } => {
            let labs = match lab {
                Some(l) => vec![l],
                None => halab::ledger::all_labs(),
            };
            for lab in labs {
                let s = halab::status::lab_status(&lab)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&s)?);
                } else {
                    print!("{}", halab::status::render(&s));
                }
            }
        }
        Cmd::Ls => {
            for line in halab::status::list() {
                println!("{line}");
            }
        }
        Cmd::Exec { lab, node, cmd } => {
            let st = LabState::load(&lab)?;
            if st.provider == Kind::Netns {
                // Interactive: the terminal goes straight through.
                let status = netns::exec_command(&st, &node, &cmd)?.status().context("failed to run nsenter")?;
                return Ok(ExitCode::from(status.code().unwrap_or(255).clamp(0, 255) as u8));
            }
            let argv: Vec<&str> = cmd.iter().map(String::as_str).collect();
            let o = halab::provider::of(&st).exec(&node, &argv, None, std::time::Duration::from_secs(600))?;
            std::io::stdout().write_all(&o.stdout)?;
            std::io::stderr().write_all(&o.stderr)?;
            return Ok(ExitCode::from(o.status.code().unwrap_or(255).clamp(0, 255) as u8));
        }
        Cmd::Ssh { lab, node, cmd } => {
            let st = LabState::load(&lab)?;
            let ni = st.node_index(&node)?;
            let dir = halab::ledger::lab_dir(&lab).join("ssh");
            let err = std::process::Command::new("ssh")
                .arg("-i")
                .arg(dir.join("id_ed25519"))
                .arg("-o")
                .arg(format!("UserKnownHostsFile={}", dir.join("known_hosts").display()))
                .args(["-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=5", "-o", "BatchMode=yes"])
                .arg(format!("root@{}", st.node_mgmt_addr(ni)))
                .args(&cmd)
                .exec();
            return Err(anyhow::Error::new(err).context("failed to run ssh (apt-get install openssh-client)"));
        }
        Cmd::Link { lab, node, iface, state } => {
            let st = LabState::load(&lab)?;
            halab::provider::of(&st).set_link(&node, &iface, matches!(state, LinkState::Up))?;
        }
        Cmd::Loss { lab, node, iface, percent } => {
            let st = LabState::load(&lab)?;
            halab::provider::of(&st).set_loss(&node, &iface, percent)?;
        }
        Cmd::Power { lab, node, action } => {
            let st = LabState::load(&lab)?;
            let p = halab::provider::of(&st);
            match action {
                PowerAction::Off => p.power_off(&node)?,
                PowerAction::On => p.power_on(&node)?,
                PowerAction::Reboot => p.reboot(&node)?,
                PowerAction::Freeze => p.freeze(&node, true)?,
                PowerAction::Thaw => p.freeze(&node, false)?,
            }
        }
        Cmd::Switchover { lab, to } => {
            halab::interrupt::install();
            let st = LabState::load(&lab)?;
            let t = std::time::Instant::now();
            let holder = halab::stack::switchover::switchover(&st, to.as_deref())?;
            println!("{holder} holds every VIP ({:.2} s)", t.elapsed().as_secs_f64());
        }
        Cmd::Logs { lab, node, daemon } => {
            let st = LabState::load(&lab)?;
            let n = halab::node::Node::new(&st, &node)?;
            match daemon {
                None => print!("{}", n.run(&["sh", "-c", "ls /var/log/halab/ /var/log/pacemaker/ 2>/dev/null"])?),
                Some(d) => {
                    for path in halab::stack::log_files(&d) {
                        if n.succeeds(&["test", "-f", path]) {
                            println!("==> {node}:{path} <==");
                            print!("{}", n.run(&["cat", path])?);
                        }
                    }
                }
            }
        }
        Cmd::Run { scenario, stack, repeat, seed, keep, out, provider, libvirt_uri } => {
            halab::interrupt::install();
            let sc = halab::scenario::load(&scenario)?;
            let stacks = if stack.is_empty() { None } else { Some(stack.iter().map(|s| stack_of(*s)).collect()) };
            let out = out.unwrap_or_else(|| {
                let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
                PathBuf::from("reports/runs").join(format!("{t}-{}", sc.name))
            });
            let target = halab::lifecycle::Target { provider, libvirt_uri };
            let opts = halab::scenario::runner::Options { stacks, repeat, seed, keep, out: out.clone(), target };
            let recs = halab::scenario::runner::run(&sc, &opts)?;
            use halab::scenario::results::Outcome;
            for r in &recs {
                println!("{} {} #{}: {:?} ({:.1} s)", r.scenario, r.stack, r.repeat, r.outcome, r.wall_s);
                for e in &r.expectations {
                    println!(
                        "  [{}] {}  (actual: {})",
                        if e.held { "ok" } else { "FAILED" },
                        e.expect,
                        e.actual.as_ref().map(|a| a.to_string()).unwrap_or_else(|| "missing".into())
                    );
                }
                if let Some(e) = &r.error {
                    println!("  error: {e}");
                }
            }
            println!("run folder: {}", out.display());
            if recs.iter().any(|r| r.outcome == Outcome::Error) {
                return Ok(ExitCode::from(3));
            }
            if recs.iter().any(|r| r.outcome == Outcome::Failed) {
                return Ok(ExitCode::from(1));
            }
        }
        Cmd::Bench { scenarios, stacks, repeat, seed, out, provider, libvirt_uri } => {
            let target = halab::lifecycle::Target { provider, libvirt_uri };
            halab::interrupt::install();
            let files = if scenarios.is_empty() {
                ["scp-survives-failover", "cable-pull-inet", "switchover"].iter().map(|n| PathBuf::from(format!("scenarios/{n}.yaml"))).collect()
            } else {
                scenarios
            };
            // Everything is validated before anything runs.
            let loaded: Vec<_> = files.iter().map(|f| halab::scenario::load(f)).collect::<Result<_, _>>()?;
            let stacks: Vec<_> = stacks.iter().map(|s| stack_of(*s)).collect();
            let total = loaded.len() * stacks.len() * repeat.max(1) as usize;
            let t = std::time::Instant::now();
            let overall = halab::progress::Step::start(format!("bench: {} scenario(s) x {} stack(s) x {repeat} = {total} runs", loaded.len(), stacks.len()));
            let runs_dir = out.join("runs");
            let mut done = 0;
            for sc in &loaded {
                for st in &stacks {
                    overall.message(&format!("run {}/{total}: {} on {}", done + 1, sc.name, halab::stack::stack_name(*st)));
                    let opts =
                        halab::scenario::runner::Options { stacks: Some(vec![*st]), repeat, seed, keep: false, out: runs_dir.clone(), target: target.clone() };
                    done += halab::scenario::runner::run(sc, &opts)?.len();
                }
            }
            overall.done(&format!("{done} runs"));
            let a = halab::report::analyse(halab::report::load_runs(&[runs_dir])?, seed);
            halab::report::write_all(&a, &out)?;
            println!("bench: {done} runs in {:.0} s; report: {}", t.elapsed().as_secs_f64(), out.join("report.md").display());
            for h in &a.headlines {
                let cells: Vec<String> = a.stacks.iter().map(|s| format!("{s}: {}", h.cells.get(s).cloned().unwrap_or_else(|| "-".into()))).collect();
                println!("  {}: {}", h.row, cells.join(" | "));
            }
        }
        Cmd::Report { runs, out, seed } => {
            let a = halab::report::analyse(halab::report::load_runs(&runs)?, seed);
            halab::report::write_all(&a, &out)?;
            println!("report of {} runs: {}", a.runs.len(), out.join("report.md").display());
        }
        Cmd::Gc => {
            let removed = halab::lifecycle::gc()?;
            println!("gc: {} lab(s) removed{}", removed.len(), if removed.is_empty() { String::new() } else { format!(": {}", removed.join(", ")) });
        }
        Cmd::Image(ImageCmd::Build { recipe }) => {
            let name = recipe.unwrap_or_else(|| "debian-bookworm-ha".into());
            let path = halab::image::recipe::find(&name, None).ok_or_else(|| anyhow::anyhow!("no image recipe `{name}` (looked in images/)"))?;
            let r = halab::image::Recipe::load(&path)?;
            let t = std::time::Instant::now();
            let (img, hit) = halab::image::ensure(&path, &r)?;
            println!("{} {} {} ({:.3} s)", if hit { "cached" } else { "built" }, img.manifest.hash, img.rootfs().display(), t.elapsed().as_secs_f64());
        }
        Cmd::Image(ImageCmd::Disk { recipe }) => {
            let name = recipe.unwrap_or_else(|| "debian-bookworm-ha".into());
            let path = halab::image::recipe::find(&name, None).ok_or_else(|| anyhow::anyhow!("no image recipe `{name}` (looked in images/)"))?;
            let r = halab::image::Recipe::load(&path)?;
            let (img, _) = halab::image::ensure(&path, &r)?;
            let t = std::time::Instant::now();
            let (disk, built) = halab::image::disk::ensure_disk(&img)?;
            let (kernel, initrd) = halab::image::disk::kernel_and_initrd(&img)?;
            println!(
                "{} {} ({} MB, {:.2} s); kernel {} initrd {}",
                if built { "built" } else { "cached" },
                disk.display(),
                std::fs::metadata(&disk)?.len() / 1_000_000,
                t.elapsed().as_secs_f64(),
                kernel.display(),
                initrd.display()
            );
        }
        Cmd::Image(ImageCmd::Ls) => {
            for img in halab::image::list() {
                println!(
                    "{}  {:<24} {:>6} MB  built in {:.0} s",
                    img.manifest.hash,
                    img.manifest.recipe_name,
                    img.manifest.size_bytes / 1_000_000,
                    img.manifest.build_seconds
                );
            }
        }
        Cmd::Image(ImageCmd::Rm { image }) => {
            let removed = halab::image::build::remove(&image)?;
            println!("removed {removed}");
        }
        Cmd::InNode(c) => return halab::node::cli::run(c),
        Cmd::Init { config } => {
            netns::init::run(&config)?;
        }
        Cmd::Supervise { lab_dir } => {
            netns::supervisor::serve(&lab_dir)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn stack_of(s: StackArg) -> halab::topology::Stack {
    match s {
        StackArg::None => halab::topology::Stack::None,
        StackArg::Keepalived => halab::topology::Stack::Keepalived,
        StackArg::Pacemaker => halab::topology::Stack::Pacemaker,
    }
}
