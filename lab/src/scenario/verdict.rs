//! How a run ended, decided from what its steps did and what was measured: apart from the lab,
//! so the rules are tested without one.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::events::secs;
use super::expect::{self, Expect};
use super::results::{ExpectResult, Outcome};

/// How the steps of a run ended.
#[derive(Debug)]
pub enum StepsEnd {
    /// Every step ran.
    Done,
    /// A `wait_until` condition never came true: what the scenario waited for did not happen,
    /// a failed expectation (exit 1), not a broken lab. The steps after it did not run.
    ConditionFailed { condition: String, timeout: Duration },
    /// The lab or a step broke: infrastructure (exit 3).
    Broke(String),
    /// A signal stopped the steps (exit 130).
    Interrupted,
}

#[derive(Debug)]
pub struct Verdict {
    pub outcome: Outcome,
    pub error: Option<String>,
    pub expectations: Vec<ExpectResult>,
}

/// The run's outcome. `collect_error`: the traffic could not be collected (infrastructure).
/// A failed condition comes first among the expectations, as the user wrote it
/// (`vip_moved within 60 s`), then the scenario's own `expect:` list.
pub fn decide(end: &StepsEnd, collect_error: Option<String>, expect: &[Expect], metrics: &BTreeMap<String, Value>) -> Verdict {
    if let StepsEnd::Interrupted = end {
        let error = "interrupted by a signal during the steps; the samples so far are kept".to_string();
        return Verdict { outcome: Outcome::Interrupted, error: Some(error), expectations: Vec::new() };
    }
    let broke = match end {
        StepsEnd::Broke(e) => Some(e.clone()),
        _ => collect_error,
    };
    if let Some(error) = broke {
        return Verdict { outcome: Outcome::Error, error: Some(error), expectations: Vec::new() };
    }
    let mut expectations = Vec::new();
    if let StepsEnd::ConditionFailed { condition, timeout } = end {
        expectations.push(ExpectResult {
            expect: format!("{condition} within {}", secs(timeout.as_secs_f64())),
            held: false,
            actual: Some(json!("did not happen")),
        });
    }
    for e in expect {
        let (held, actual) = expect::eval(e, metrics);
        expectations.push(ExpectResult { expect: e.text.clone(), held, actual });
    }
    let outcome = if expectations.iter().all(|e| e.held) { Outcome::Passed } else { Outcome::Failed };
    Verdict { outcome, error: None, expectations }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> BTreeMap<String, Value> {
        [("probe.recovered".to_string(), json!(true))].into_iter().collect()
    }

    #[test]
    fn a_condition_that_never_came_true_fails_the_run() {
        let expect = [expect::parse("probe.recovered").unwrap()];
        let end = StepsEnd::ConditionFailed { condition: "vip_moved".into(), timeout: Duration::from_secs(60) };
        let v = decide(&end, None, &expect, &metrics());
        assert_eq!(v.outcome, Outcome::Failed);
        assert_eq!(v.error, None, "not an infrastructure error");
        assert_eq!(v.expectations[0].expect, "vip_moved within 60 s");
        assert!(!v.expectations[0].held);
        assert!(v.expectations[1].held, "the scenario's expectations are still evaluated");
    }

    #[test]
    fn broken_steps_and_collection_are_errors_and_done_runs_follow_their_expectations() {
        let expect = [expect::parse("probe.recovered").unwrap()];
        let v = decide(&StepsEnd::Broke("fault crash failed".into()), None, &expect, &metrics());
        assert_eq!((v.outcome, v.error.as_deref()), (Outcome::Error, Some("fault crash failed")));
        let v = decide(&StepsEnd::Done, Some("collecting probe: gone".into()), &expect, &metrics());
        assert_eq!(v.outcome, Outcome::Error);
        assert_eq!(decide(&StepsEnd::Done, None, &expect, &metrics()).outcome, Outcome::Passed);
        let missing = [expect::parse("bulk.completed").unwrap()];
        assert_eq!(decide(&StepsEnd::Done, None, &missing, &metrics()).outcome, Outcome::Failed);
    }
}
