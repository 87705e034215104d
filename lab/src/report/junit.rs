//! junit.xml: one test case per scenario x stack x repeat; a failed expectation is a failure,
//! an infrastructure error an error.

use std::time::Duration;

use anyhow::Result;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::Analysis;
use crate::scenario::results::Outcome;

pub fn render(a: &Analysis) -> Result<String> {
    let mut report = Report::new("halab");
    let mut scenarios: Vec<&str> = a.runs.iter().map(|r| r.record.scenario.as_str()).collect();
    scenarios.sort();
    scenarios.dedup();
    for sc in scenarios {
        let mut suite = TestSuite::new(sc);
        for r in a.runs.iter().filter(|r| r.record.scenario == sc) {
            let rec = &r.record;
            let status = match rec.outcome {
                Outcome::Passed => TestCaseStatus::success(),
                Outcome::Failed => {
                    let failed: Vec<String> = rec
                        .expectations
                        .iter()
                        .filter(|e| !e.held)
                        .map(|e| format!("{} (actual: {})", e.expect, e.actual.as_ref().map(|v| v.to_string()).unwrap_or_else(|| "missing".into())))
                        .collect();
                    let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    st.set_message(failed.join("; "));
                    st
                }
                Outcome::Error | Outcome::Interrupted => {
                    let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                    st.set_message(rec.error.clone().unwrap_or_default());
                    st
                }
            };
            let mut case = TestCase::new(format!("{}[{}]#{}", rec.scenario, rec.stack, rec.repeat), status);
            case.set_classname(format!("halab.{}", rec.stack));
            case.set_time(Duration::from_secs_f64(rec.wall_s.max(0.0)));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    Ok(report.to_string()?)
}
