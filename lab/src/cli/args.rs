//! The command line, as clap parses it. Flags shared by several commands are declared once.

use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::topology::Stack;

#[derive(Parser)]
#[command(name = "halab", version, about = "Lab provisioner for Linux high-availability clusters")]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

/// Where labs run: `--provider` and its options.
#[derive(Args, Clone)]
pub struct Where {
    /// Where the lab runs: netns (namespaces, seconds), libvirt (Debian VMs) or hosts
    /// (existing machines of an --inventory).
    #[arg(long, default_value = "netns", value_parser = PossibleValuesParser::new(crate::provider::names()))]
    pub provider: String,
    /// libvirt connection URI (default qemu:///system, or HALAB_LIBVIRT_URI).
    #[arg(long)]
    pub libvirt_uri: Option<String>,
    /// hosts: the inventory of existing machines (YAML) the lab may use.
    #[arg(long)]
    pub inventory: Option<PathBuf>,
    /// hosts: how long the hosts' leases last unless renewed (e.g. 30m; default 60m).
    #[arg(long, value_parser = parse_duration)]
    pub lease_ttl: Option<std::time::Duration>,
    /// hosts: wait this long for hosts another lab holds (e.g. 20m; default: refuse at once).
    #[arg(long, value_parser = parse_duration)]
    pub lease_wait: Option<std::time::Duration>,
    /// Build the lab from this image recipe instead of the topology's `image:` (a name in
    /// images/, e.g. debian-bookworm-ha, or a recipe's path).
    #[arg(long)]
    pub image: Option<String>,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::topology::duration::parse(s).ok_or_else(|| format!("`{s}` is not a duration (write it like 90s or 30m)"))
}

impl Where {
    pub fn options(&self) -> crate::provider::Options {
        crate::provider::Options {
            provider: self.provider.clone(),
            libvirt_uri: self.libvirt_uri.clone(),
            inventory: self.inventory.clone(),
            lease_ttl: self.lease_ttl,
            lease_wait: self.lease_wait,
            image: self.image.clone(),
        }
    }
}

/// A matrix of runs: repeats, seed, provider.
#[derive(Args, Clone)]
pub struct Matrix {
    /// Runs per scenario and stack (default: 1 for `run`, 3 for `bench`).
    #[arg(long)]
    pub repeat: Option<u32>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub place: Where,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Check a topology, scenario, study or inventory file; print every problem with
    /// file:line:col.
    Validate { file: PathBuf },
    /// Print every step, traffic kind, wait condition and fault a scenario may use (Markdown).
    Vocabulary {
        /// JSON (shape: `halab schema vocabulary`).
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of a file kind (topology, scenario, study, inventory) or of a
    /// command's --json output (status, ls, plan, vocabulary, hosts-ls); without KIND, list them.
    Schema { kind: Option<String> },
    /// Print a shell completion script (bash also completes lab names).
    Completions { shell: clap_complete::Shell },
    /// Write the man pages (halab.1, halab-VERB.1) into DIR.
    Man { dir: PathBuf },
    /// Draw a lab as SVG: a topology file, or a lab that is up (then who holds the VIPs and
    /// which cables are pulled are drawn too).
    Graph {
        /// A topology file or the name of a lab that is up.
        target: String,
        /// Write the SVG here (default: standard output).
        #[arg(short, long)]
        out: Option<PathBuf>,
    },
    /// Print the resolved plan of a topology (YAML, or JSON with --json).
    Plan {
        file: PathBuf,
        #[arg(long)]
        name: Option<String>,
        /// JSON (shape: `halab schema plan`).
        #[arg(long)]
        json: bool,
    },
    /// Build a lab from a topology and wait until it is ready.
    Up {
        file: PathBuf,
        /// Lab name (default: the topology's); run several labs from one topology side by side.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        place: Where,
        /// Override the topology's `cluster.stack`.
        #[arg(long, value_enum)]
        stack: Option<Stack>,
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
    /// Nodes, addresses and links of a lab (of every lab without LAB).
    Status {
        lab: Option<String>,
        /// JSON: the lab's object, or an array of them without LAB (shape: `halab schema status`).
        #[arg(long)]
        json: bool,
    },
    /// List labs.
    Ls {
        /// JSON (shape: `halab schema ls`).
        #[arg(long)]
        json: bool,
        /// Only the lab names, one per line.
        #[arg(long, short)]
        quiet: bool,
    },
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
        stack: Vec<Stack>,
        #[command(flatten)]
        matrix: Matrix,
        /// Leave the lab up after the run.
        #[arg(long)]
        keep: bool,
        /// Run folder (default reports/runs/<time>-<scenario>).
        #[arg(short, long)]
        out: Option<PathBuf>,
    },
    /// Run a matrix (scenario x stack x repeat) and write the report (Markdown, HTML, JSON, JUnit).
    Bench {
        /// Scenario files (default: every scenario in scenarios/ whose file has a `report:` block).
        scenarios: Vec<PathBuf>,
        #[arg(long, value_enum, value_delimiter = ',', default_value = "keepalived,pacemaker")]
        stacks: Vec<Stack>,
        #[command(flatten)]
        matrix: Matrix,
        #[arg(short, long, default_value = "reports/bench")]
        out: PathBuf,
    },
    /// A nightly run for CI: on the hosts provider, health-check every host of the inventory
    /// first (out/health.xml; a failing host is quarantined, an `error`), then the bench.
    /// Exit 3 on an infrastructure error, 1 on a failed expectation, 0 when all passed.
    Nightly {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        #[arg(long, value_enum, value_delimiter = ',', default_value = "keepalived,pacemaker")]
        stacks: Vec<Stack>,
        #[command(flatten)]
        matrix: Matrix,
        #[arg(short, long, default_value = "reports/nightly")]
        out: PathBuf,
    },
    /// Run a study: every cell (scenario x stack x swept setting) in one bench, interleaved in
    /// seeded blocks, `--jobs` labs at once; writes the runs and the report into `--out`.
    Study {
        file: PathBuf,
        /// Labs at once (default 2: the most that do not starve runs on a 2-core box).
        #[arg(long, default_value_t = 2)]
        jobs: u32,
        /// Run only shard K of N of the study's order (merge the folders with `halab report`).
        #[arg(long)]
        shard: Option<String>,
        #[command(flatten)]
        place: Where,
        /// Output folder (default reports/studies/<study name>).
        #[arg(short, long)]
        out: Option<PathBuf>,
    },
    /// Re-render a report from run folders, without running anything.
    Report {
        #[arg(required = true)]
        runs: Vec<PathBuf>,
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Remove the leftovers of labs whose halab process is gone (all such labs, or only the
    /// ones named).
    Gc { labs: Vec<String> },
    /// Images: build, list, remove.
    #[command(subcommand)]
    Image(ImageCmd),
    /// OCF resource agents: `agent test PATH` checks one in a live lab.
    #[command(subcommand)]
    Agent(AgentCmd),
    /// Pacemaker's own Cluster Test Suite (cts-lab, pacemaker-cts) against a pacemaker lab
    /// that is up, run from one of its nodes that is not a member; writes cts.md, cts.json and
    /// CTS's logs. The stack is started again afterwards. Exit 0 all passed, 1 a test failed.
    Cts {
        lab: String,
        /// CTS test names (repeat or comma-separate; default: the ten that fit two members).
        #[arg(long, value_delimiter = ',')]
        tests: Vec<String>,
        /// The exerciser node (default: the first node that is not a member).
        #[arg(long)]
        from: Option<String>,
        /// Stop CTS after this long (e.g. 20m).
        #[arg(long, default_value = "30m", value_parser = parse_duration)]
        timeout: std::time::Duration,
        /// Where cts.md, cts.json, cts-lab.out and cts.log go (default reports/cts-LAB).
        #[arg(short, long)]
        out: Option<PathBuf>,
    },
    /// Existing machines of an inventory (the hosts provider's own command): `trust` pins
    /// their SSH host keys, `check` health-checks them, `ls` shows keys, leases, quarantine.
    #[command(disable_help_flag = true)]
    Hosts {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    #[command(flatten)]
    InNode(crate::node::cli::NodeCmd),
    /// A provider's own helper process (a netns node's init, the lab supervisor).
    #[command(name = "_helper", hide = true)]
    Helper { provider: String, name: String, arg: PathBuf },
    /// The lab's fencer (fencing method `halab`), started by `up`.
    #[command(name = "_fencer", hide = true)]
    Fencer { lab: String },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LinkState {
    Up,
    Down,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PowerAction {
    Off,
    On,
    Reboot,
    /// Every process of the node stops (a VM is suspended); `thaw` resumes.
    Freeze,
    Thaw,
}

#[derive(Subcommand)]
pub enum AgentCmd {
    /// Check an OCF resource agent in a lab halab makes: static (meta-data, metadata.rng,
    /// actions, units, shellcheck), single node (ocf-tester, the OCF exit-code rules), live
    /// cluster (start, probe, recovery, move, crash, return; roles and notify when promotable).
    /// Exit 0 all passed, 1 a check failed, 2 bad input, 3 the lab failed.
    Test {
        /// The agent (its file name is its type).
        path: PathBuf,
        /// Instance parameters, `k=v` (repeat or comma-separate).
        #[arg(long, value_delimiter = ',', value_parser = parse_kv)]
        params: Vec<(String, String)>,
        /// The agent is for a promotable clone: promote, demote and notify are required.
        #[arg(long)]
        promotable: bool,
        /// Extra Debian packages the agent needs in the nodes (its daemon, its tools).
        #[arg(long, value_delimiter = ',')]
        packages: Vec<String>,
        /// Files the agent needs in both members (its daemon's config): `HOST_PATH:NODE_PATH`.
        #[arg(long, value_delimiter = ',', value_parser = parse_file)]
        files: Vec<(PathBuf, String)>,
        /// The lab: this topology, run on pacemaker, the agent in every member (default: a
        /// pair halab makes).
        #[arg(long)]
        topology: Option<PathBuf>,
        /// Only these layers (default all): static, single, live.
        #[arg(long, value_enum, value_delimiter = ',')]
        layers: Vec<crate::agent_test::Layer>,
        #[command(flatten)]
        place: Where,
        /// Where checks.json, report.md and junit.xml go (default reports/agent-TYPE).
        #[arg(short, long)]
        out: Option<PathBuf>,
    },
}

fn parse_file(s: &str) -> Result<(PathBuf, String), String> {
    match s.split_once(':') {
        Some((h, n)) if !h.is_empty() && n.starts_with('/') => Ok((PathBuf::from(h), n.to_string())),
        _ => Err(format!("`{s}` is not HOST_PATH:/NODE/PATH")),
    }
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).ok_or_else(|| format!("`{s}` is not k=v"))
}

#[derive(Subcommand)]
pub enum ImageCmd {
    /// Build a recipe (default: debian-trixie-ha); a cached build returns at once.
    Build {
        recipe: Option<String>,
        /// Extra Debian packages: a layer over the recipe's image, as a topology's `packages`.
        #[arg(long, value_delimiter = ',')]
        packages: Vec<String>,
    },
    /// Build (or find) the qcow2 VM disk of an image (for the libvirt provider).
    Disk { recipe: Option<String> },
    /// List cached images.
    Ls,
    /// Remove a cached image (by hash or recipe name).
    Rm { image: String },
}
