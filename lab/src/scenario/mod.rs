//! Scenarios: a scenario file drives traffic through a lab, injects faults and measures what a
//! user of the cluster suffers, on one clock.

pub mod conditions;
pub mod events;
pub mod evidence;
mod execute;
pub mod expect;
pub mod faults;
pub mod model;
pub mod plan;
pub mod results;
pub mod runner;
pub mod sampler;
pub mod schedule;
pub mod target;
pub mod traffic;
pub mod validate;
pub mod verdict;
pub mod vocabulary;
pub mod watch;

pub use plan::Scenario;
pub use validate::load;

/// The scenarios `halab bench` runs by default: every scenario in `dir` that declares a
/// `report:` block (it says what to headline, so it is meant for a bench).
pub fn benched(dir: &std::path::Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    use anyhow::Context;
    let mut out: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("no scenarios to bench: {} cannot be read (name scenario files)", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.lines().any(|l| l.starts_with("report:"))))
        .collect();
    out.sort();
    Ok(out)
}
