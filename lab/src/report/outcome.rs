//! Numbers with an outcome (`results::outcome_of`): a run whose gap never recovered recorded
//! the silence up to its end, a lower bound. Such runs are counted and named, never averaged
//! with real gaps: the cell texts, the comparisons and the spread plots all sample through here.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::measure::gap::GapOutcome;
use crate::scenario::results::outcome_of;

/// What one run gives the statistics of a numeric metric.
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    /// Its number: the metric has no outcome, or it recovered.
    Value(f64),
    /// The outcome in words ("never recovered"); the number stays out.
    NotRecovered(String),
}

/// `None` when the run has no number for `metric` (missing, or not a number).
pub fn sample(m: &BTreeMap<String, Value>, metric: &str) -> Option<Sample> {
    let v = m.get(metric).filter(|v| v.is_number() || v.is_null())?;
    match outcome_of(m, metric) {
        Some(o) if o.as_str() != Some("recovered") => Some(Sample::NotRecovered(words(o))),
        _ => v.as_f64().map(Sample::Value),
    }
}

/// A recorded outcome in words: `never_recovered` -> "never recovered".
pub fn words(o: &Value) -> String {
    match serde_json::from_value::<GapOutcome>(o.clone()) {
        Ok(g) => g.to_string(),
        Err(_) => o.as_str().map(|s| s.replace('_', " ")).unwrap_or_else(|| "an unknown outcome".into()),
    }
}

/// Runs left out of `of` by outcome: "1 of 2 never recovered, 1 of 2 no data".
pub fn left_out(counts: &BTreeMap<String, usize>, of: usize) -> String {
    counts.iter().map(|(o, k)| format!("{k} of {of} {o}")).collect::<Vec<_>>().join(", ")
}

/// When no run recovered: "never recovered (0 of 2 recovered)", or with several outcomes
/// "1 never recovered, 1 no data (0 of 2 recovered)".
pub fn none_recovered(counts: &BTreeMap<String, usize>) -> String {
    let of: usize = counts.values().sum();
    let what = match counts.keys().next() {
        Some(o) if counts.len() == 1 => o.clone(),
        _ => counts.iter().map(|(o, k)| format!("{k} {o}")).collect::<Vec<_>>().join(", "),
    };
    format!("{what} (0 of {of} recovered)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metrics(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn a_gap_is_sampled_only_when_it_recovered() {
        let m = metrics(&[
            ("p.gap", json!(7210.0)),
            ("p.gap_outcome", json!("never_recovered")),
            ("p.tcp.gap", json!(900.0)),
            ("p.tcp.outcome", json!("recovered")),
            ("p.udp.sent", json!(100)),
            ("q.tcp.gap", json!(0.0)),
            ("q.tcp.outcome", json!("no_data")),
            ("r.gap", json!(null)),
            ("r.gap_outcome", json!("lost_in_space")),
        ]);
        assert_eq!(sample(&m, "p.gap"), Some(Sample::NotRecovered("never recovered".into())));
        assert_eq!(sample(&m, "p.tcp.gap"), Some(Sample::Value(900.0)));
        assert_eq!(sample(&m, "p.udp.sent"), Some(Sample::Value(100.0)), "no outcome: a plain number");
        assert_eq!(sample(&m, "q.tcp.gap"), Some(Sample::NotRecovered("no data".into())));
        assert_eq!(sample(&m, "r.gap"), Some(Sample::NotRecovered("lost in space".into())));
        assert_eq!(sample(&m, "p.gap_outcome"), None, "the outcome itself is no number");
        assert_eq!(sample(&m, "missing"), None);
    }

    #[test]
    fn left_out_runs_in_words() {
        let one: BTreeMap<String, usize> = [("never recovered".to_string(), 2)].into();
        assert_eq!(left_out(&one, 3), "2 of 3 never recovered");
        assert_eq!(none_recovered(&one), "never recovered (0 of 2 recovered)");
        let two: BTreeMap<String, usize> = [("never recovered".to_string(), 1), ("no data".to_string(), 2)].into();
        assert_eq!(none_recovered(&two), "1 never recovered, 2 no data (0 of 3 recovered)");
    }
}
