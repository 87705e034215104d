//! `halab study`: every run of the study's order (or of one shard of it), `jobs` labs at once,
//! each run's record with its place in the order; then `study.json` (what a merge checks) and
//! the report.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::order::{self, Slot};
use super::Study;
use crate::bench::Verdict;
use crate::report::{self, Analysis};
use crate::scenario::results::{RunRecord, StudyPlace};
use crate::scenario::runner;

pub struct Options {
    pub jobs: u32,
    pub shard: Option<(u32, u32)>,
    pub out: PathBuf,
    pub provider: crate::provider::Options,
}

/// `study.json`: what the runs of a folder belong to. `halab report` merges folders only when
/// these agree (one study, one commit, one seed, one set of cells).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: String,
    pub study: String,
    pub file: String,
    /// SHA-256 of the study file's text: two shards of one name but edited files never merge.
    #[serde(default)]
    pub hash: String,
    pub seed: u64,
    pub repeats: u32,
    pub git_revision: String,
    /// `scenario on stack: cell` of every cell, in the study's order of cells.
    pub cells: Vec<String>,
    pub runs: u32,
    pub shard: Option<[u32; 2]>,
    pub jobs: u32,
    /// The shift below which a difference is negligible (ms).
    pub negligible_ms: f64,
    /// The positions this folder ran.
    pub positions: Vec<u32>,
}

pub const MANIFEST: &str = "study.json";

impl Manifest {
    pub fn load(dir: &Path) -> Result<Option<Manifest>> {
        let p = dir.join(MANIFEST);
        if !p.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&p).with_context(|| format!("failed to read {}", p.display()))?;
        Ok(Some(serde_json::from_str(&text).with_context(|| format!("{} is not a study manifest", p.display()))?))
    }
}

fn cell_names(study: &Study) -> Vec<String> {
    study.cells.iter().map(|c| format!("{} on {}: {}", study.scenarios[c.scenario].name, c.stack, c.label)).collect()
}

/// Run the study (or its shard) into `opts.out`; the report is written there too.
pub fn run(study: &Study, opts: &Options) -> Result<(Analysis, Verdict)> {
    let all = order::order(study.cells.len(), study.repeats, study.seed);
    let mine = match opts.shard {
        Some((k, n)) => order::shard(&all, k, n),
        None => all.clone(),
    };
    let runs_dir = opts.out.join("runs");
    std::fs::create_dir_all(&runs_dir).with_context(|| format!("failed to create {}", runs_dir.display()))?;
    let manifest = Manifest {
        schema: "halab.study/1".into(),
        study: study.name.clone(),
        file: study.file.display().to_string(),
        hash: file_hash(&study.file),
        seed: study.seed,
        repeats: study.repeats,
        git_revision: crate::scenario::results::git_revision(&study.file),
        cells: cell_names(study),
        runs: all.len() as u32,
        shard: opts.shard.map(|(k, n)| [k, n]),
        jobs: opts.jobs,
        negligible_ms: study.negligible_ms,
        positions: mine.iter().map(|s| s.position).collect(),
    };
    std::fs::write(opts.out.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    if opts.jobs > 1 {
        crate::progress::set_plain();
    }
    let shard = opts.shard.map(|(k, n)| format!(" (shard {k}/{n})")).unwrap_or_default();
    crate::progress::info(&format!(
        "study {}: {} cells x {} repeats = {} runs{shard}, {} here, {} lab(s) at once",
        study.name,
        study.cells.len(),
        study.repeats,
        all.len(),
        mine.len(),
        opts.jobs
    ));
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let records: Mutex<Vec<RunRecord>> = Mutex::new(Vec::new());
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= mine.len() || crate::interrupt::interrupted() {
                    return;
                }
                match run_slot(study, &mine[i], &manifest, opts, &runs_dir) {
                    Ok(rec) => {
                        let mut done = records.lock().unwrap_or_else(|e| e.into_inner());
                        done.push(rec);
                        let eta = started.elapsed().as_secs_f64() / done.len() as f64 * (mine.len() - done.len()) as f64;
                        crate::progress::info(&format!("study {}: {}/{} runs done, about {:.0} min left", study.name, done.len(), mine.len(), eta / 60.0));
                    }
                    Err(e) => {
                        failure.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let records = records.into_inner().unwrap_or_else(|e| e.into_inner());
    let a = report::analyse(report::load_runs(&[runs_dir])?);
    report::write_all(&a, &opts.out)?;
    Ok((a, Verdict::of(&records)))
}

/// One run: the cell's scenario with the cell's lab, its record and its topology in its folder.
fn run_slot(study: &Study, slot: &Slot, m: &Manifest, opts: &Options, runs_dir: &Path) -> Result<RunRecord> {
    let cell = &study.cells[slot.cell];
    let mut sc = study.scenarios[cell.scenario].clone();
    sc.plan = cell.plan.clone();
    let started_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    let place = StudyPlace {
        study: study.name.clone(),
        file: m.file.clone(),
        cell: cell.label.clone(),
        cell_index: slot.cell as u32,
        settings: cell.settings.clone(),
        block: slot.block,
        position: slot.position,
        runs: m.runs,
        shard: m.shard,
        jobs: m.jobs,
        started_ms,
        negligible_ms: study.negligible_ms,
    };
    let o = runner::Options {
        stacks: Some(vec![cell.stack]),
        repeat: study.repeats,
        seed: study.seed,
        keep: false,
        out: runs_dir.to_path_buf(),
        provider: opts.provider.clone(),
        place: Some(place),
    };
    let dir = runs_dir.join(format!("{:03}-{}-{}-{}", slot.position, sc.name, cell.stack, slug(&cell.label)));
    crate::progress::info(&format!("run {}/{}: {} on {} ({}), block {}", slot.position, m.runs, sc.name, cell.stack, cell.label, slot.block));
    let rec = runner::run_once(&sc, cell.stack, slot.block, &o, &dir);
    crate::progress::info(&format!(
        "run {}/{}: {} on {} ({}): {}{}",
        slot.position,
        m.runs,
        sc.name,
        cell.stack,
        cell.label,
        rec.outcome,
        rec.error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
    ));
    rec.write(&dir)?;
    std::fs::write(dir.join("topology.yaml"), &cell.topology)?;
    Ok(rec)
}

fn file_hash(p: &Path) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(std::fs::read(p).unwrap_or_default());
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// A folder-name form of a cell's label: `advert_int-500ms`.
fn slug(label: &str) -> String {
    let s: String = label.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' }).collect();
    s.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-")
}
