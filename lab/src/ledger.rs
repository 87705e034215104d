//! The lab's ledger: every object halab creates on the host is written here *before* it is
//! created, so `down` and `gc` remove exactly that, also after a crash or an interrupt.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub fn state_root() -> PathBuf {
    std::env::var_os("HALAB_STATE_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/var/lib/halab/labs"))
}

pub fn lab_dir(lab: &str) -> PathBuf {
    state_root().join(lab)
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Creating,
    Up,
    Destroying,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Creating => "creating",
            Phase::Up => "up",
            Phase::Destroying => "destroying",
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Object {
    /// A directory or file halab made (removed recursively).
    Dir { path: PathBuf },
    /// A named network namespace (`ip netns`).
    Netns { name: String },
    /// A network interface; `netns: None` is the host namespace.
    Link { netns: Option<String>, name: String },
    /// A process halab started; `start_time` (clock ticks since boot) guards against PID reuse.
    Process { pid: i32, start_time: u64, what: String },
    /// A mount point.
    Mount { path: PathBuf },
    /// A libvirt network (stopped and undefined by `down`).
    Network { uri: String, name: String },
    /// A libvirt domain (destroyed and undefined by `down`).
    Domain { uri: String, name: String },
    /// An nftables table of the lab's own in the host namespace (`nft delete table`).
    NftTable { family: String, name: String },
    /// A host of the hosts provider: the lab's lease on it and its journal there (undone and
    /// released by `down`).
    Host { name: String, addr: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerData {
    pub lab: String,
    pub id: String,
    pub provider: String,
    pub phase: Phase,
    /// The halab process that is creating or destroying the lab.
    pub owner_pid: i32,
    pub owner_start_time: u64,
    /// The owner holds the lab for its whole life (`halab run`/`bench`): once that process is
    /// gone, even an `up` lab is garbage. A lab from `halab up` outlives its command.
    #[serde(default)]
    pub held: bool,
    pub objects: Vec<Object>,
}

pub struct Ledger {
    path: PathBuf,
    pub data: LedgerData,
}

impl Ledger {
    /// Start the ledger of a new lab; the lab's directory is its first object.
    pub fn create(lab: &str, id: &str, provider: &str) -> Result<Ledger> {
        let dir = lab_dir(lab);
        std::fs::create_dir_all(state_root()).with_context(|| format!("failed to create {}", state_root().display()))?;
        std::fs::create_dir(&dir).with_context(|| format!("failed to create {} (does the lab exist? try `halab down {lab}`)", dir.display()))?;
        let me = std::process::id() as i32;
        let data = LedgerData {
            lab: lab.into(),
            id: id.into(),
            provider: provider.into(),
            phase: Phase::Creating,
            owner_pid: me,
            owner_start_time: proc_start_time(me).unwrap_or(0),
            held: false,
            objects: vec![Object::Dir { path: dir.clone() }],
        };
        let l = Ledger { path: dir.join("ledger.json"), data };
        l.save()?;
        Ok(l)
    }

    pub fn open(lab: &str) -> Result<Ledger> {
        let path = lab_dir(lab).join("ledger.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("no lab `{lab}` ({} is missing)", path.display()))?;
        let data = serde_json::from_str(&text).with_context(|| format!("failed to parse {}", path.display()))?;
        Ok(Ledger { path, data })
    }

    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("/"))
    }

    fn save(&self) -> Result<()> {
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&self.data)?).with_context(|| format!("failed to write {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path).with_context(|| format!("failed to write {}", self.path.display()))?;
        Ok(())
    }

    /// Change the ledger as it is on disk now: another process (the lab's fencer powering a
    /// node off and on, a `halab power` beside a run) may have written it since we read it.
    /// Under an exclusive lock: read, change, write.
    fn update(&mut self, f: impl FnOnce(&mut LedgerData)) -> Result<()> {
        let lock = std::fs::File::create(self.path.with_extension("lock"))?;
        let _held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| anyhow::anyhow!("failed to lock the ledger: {e}"))?;
        if let Some(now) = std::fs::read_to_string(&self.path).ok().and_then(|t| serde_json::from_str(&t).ok()) {
            self.data = now;
        }
        f(&mut self.data);
        self.save()
    }

    /// Write down an object before creating it.
    pub fn record(&mut self, o: Object) -> Result<()> {
        self.update(|d| {
            if !d.objects.contains(&o) {
                d.objects.push(o);
            }
        })
    }

    pub fn record_all(&mut self, objs: impl IntoIterator<Item = Object>) -> Result<()> {
        self.update(|d| {
            for o in objs {
                if !d.objects.contains(&o) {
                    d.objects.push(o);
                }
            }
        })
    }

    /// Forget objects that were removed.
    pub fn forget(&mut self, f: impl Fn(&Object) -> bool) -> Result<()> {
        self.update(|d| d.objects.retain(|o| !f(o)))
    }

    /// This process holds the lab for its whole life (see `LedgerData::held`).
    pub fn hold(&mut self) -> Result<()> {
        self.update(|d| d.held = true)
    }

    pub fn set_phase(&mut self, phase: Phase) -> Result<()> {
        self.update(|d| {
            d.phase = phase;
            if phase != Phase::Up {
                let me = std::process::id() as i32;
                d.owner_pid = me;
                d.owner_start_time = proc_start_time(me).unwrap_or(0);
            }
        })
    }

    /// Is the process that owns a creating/destroying lab still running?
    pub fn owner_alive(&self) -> bool {
        process_alive(self.data.owner_pid, self.data.owner_start_time)
    }
}

/// Every lab with a ledger, by name.
pub fn all_labs() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(state_root())
        .map(|rd| rd.flatten().filter(|e| e.path().join("ledger.json").is_file()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Start time of a process (field 22 of /proc/PID/stat), to tell it from a later one with the same PID.
pub fn proc_start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// A process's state letter (R, S, T, Z, ...) from /proc/PID/stat; None when it is gone.
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// A process's parent from /proc/PID/stat (as the host sees it); None when it is gone.
pub fn proc_ppid(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].split_whitespace().nth(1)?.parse().ok()
}

/// True when `pid` runs and is the same process as recorded (zombies count as gone).
pub fn process_alive(pid: i32, start_time: u64) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(close) = stat.rfind(')') else {
        return false;
    };
    let after = &stat[close + 2..];
    let mut it = after.split_whitespace();
    let state = it.next().unwrap_or("");
    if state == "Z" || state == "X" {
        return false;
    }
    start_time == 0 || it.nth(18).and_then(|s| s.parse::<u64>().ok()) == Some(start_time)
}
