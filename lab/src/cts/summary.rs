//! CTS's verdicts as halab reports them: read from cts-lab's own output (its "Test Summary"
//! and "Overall Results" lines, each test's "Running test" line for its node and start), so
//! every figure here can be found in the cts-lab.out beside it.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Summary {
    /// `Overall Results`: success, failure, BadNews, skipped.
    pub overall: BTreeMap<String, u64>,
    pub tests: Vec<TestResult>,
    /// CTS's "Random Seed" (the clock at its start): which node each test picks follows it.
    pub random_seed: Option<String>,
    /// The log lines CTS counted as bad news (its `BadNews:` lines): reported, not failed, as
    /// CTS itself does (its exit status and verdicts ignore them).
    pub bad_news: Vec<String>,
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub struct TestResult {
    pub name: String,
    /// The node CTS ran it against (from "Running test NAME (NODE)").
    pub node: String,
    /// calls, failure, skipped, auditfail (CTS's own counters).
    pub counts: BTreeMap<String, u64>,
    /// From its "Running test" line to the next test's (or the final stop), whole seconds:
    /// CTS stamps its lines to the second.
    pub seconds: Option<u64>,
    /// CTS's lines about it that say something failed.
    pub problems: Vec<String>,
}

impl TestResult {
    pub fn passed(&self) -> bool {
        self.count("calls") > 0 && self.count("failure") == 0 && self.count("auditfail") == 0
    }
    pub fn count(&self, k: &str) -> u64 {
        self.counts.get(k).copied().unwrap_or(0)
    }
}

impl Summary {
    /// Every test passed (CTS's verdict: bad news is counted and shown, not failed).
    pub fn passed(&self) -> bool {
        !self.tests.is_empty() && self.tests.iter().all(TestResult::passed)
    }
}

/// `{'calls': 1, 'failure': 0}` (Python's repr of a dict of ints).
fn counts(text: &str) -> BTreeMap<String, u64> {
    text.trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split(',')
        .filter_map(|kv| {
            let (k, v) = kv.split_once(':')?;
            Some((k.trim().trim_matches('\'').to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// "Dec 07 17:30:27\tRunning test ..." -> (seconds of the day, "Running test ...").
fn stamped(line: &str) -> Option<(u64, &str)> {
    let (stamp, rest) = line.split_once('\t')?;
    let hms: Vec<u64> = stamp.rsplit(' ').next()?.split(':').filter_map(|x| x.parse().ok()).collect();
    (hms.len() == 3).then(|| (hms[0] * 3600 + hms[1] * 60 + hms[2], rest.trim_start_matches("cts ")))
}

pub fn parse(out: &str) -> Summary {
    let mut s = Summary::default();
    let mut started: Vec<(String, String, u64)> = Vec::new();
    let mut problems: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut end = None;
    for (t, line) in out.lines().filter_map(stamped) {
        if let Some(rest) = line.strip_prefix("Running test ") {
            let mut w = rest.split_whitespace();
            let name = w.next().unwrap_or_default().to_string();
            let node = w.next().unwrap_or_default().trim_matches(|c| c == '(' || c == ')').to_string();
            started.push((name, node, t));
        } else if line.starts_with("Stopping Cluster Manager on all nodes") && end.is_none() && !started.is_empty() {
            end = Some(t);
        } else if let Some(rest) = line.strip_prefix("BadNews:") {
            s.bad_news.push(rest.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("Random Seed:") {
            s.random_seed = Some(rest.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("Overall Results:") {
            s.overall = counts(rest);
        } else if let Some((name, rest)) = line.strip_prefix("Test ").and_then(|r| r.split_once(':')).filter(|(_, r)| r.trim_start().starts_with('{')) {
            s.tests.push(TestResult { name: name.trim().to_string(), counts: counts(rest), ..Default::default() });
        } else if let Some((name, _, _)) = started.last() {
            let l = line.to_lowercase();
            if l.contains("fail") || l.contains("badnews") || l.contains("error") || l.contains("timed out") {
                problems.entry(name.clone()).or_default().push(line.trim().to_string());
            }
        }
    }
    for (i, (name, node, t)) in started.iter().enumerate() {
        let next = started.get(i + 1).map(|x| x.2).or(end);
        if let Some(r) = s.tests.iter_mut().find(|r| &r.name == name && r.node.is_empty()) {
            r.node = node.clone();
            // Across midnight the day's seconds wrap.
            r.seconds = next.map(|n| (n + 86_400 - t) % 86_400);
            r.problems = problems.remove(name).unwrap_or_default();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = "Dec 07 17:30:20\tRandom Seed:            1796664290\n\
Dec 07 17:30:27\tRunning test StartOnebyOne          (fw1)           [  1]\n\
Dec 07 17:30:30\tBadNews: fw1 pacemaker-based[1]:  notice: Local CIB 0.6.99 differs from fw2: 0.6.97\n\
Dec 07 17:30:40\tRunning test Stonithd               (fw2)           [  2]\n\
Dec 07 17:31:00\tStonithd: Test failed: timed out waiting for fw2\n\
Dec 07 17:30:55\tStopping Cluster Manager on all nodes\n\
Dec 07 17:31:03\tOverall Results:{'success': 1, 'failure': 1, 'BadNews': 0, 'skipped': 0}\n\
Dec 07 17:31:03\tTest Summary\n\
Dec 07 17:31:03\tTest StartOnebyOne:       {'calls': 1, 'failure': 0, 'skipped': 0, 'auditfail': 0}\n\
Dec 07 17:31:03\tTest Stonithd:       {'calls': 1, 'failure': 1, 'skipped': 0, 'auditfail': 0}\n";

    #[test]
    fn reads_cts_verdicts_nodes_and_durations() {
        let s = parse(OUT);
        assert_eq!(s.tests.len(), 2);
        assert!(s.tests[0].passed());
        assert_eq!((s.tests[0].node.as_str(), s.tests[0].seconds), ("fw1", Some(13)));
        assert!(!s.tests[1].passed());
        assert_eq!(s.tests[1].problems.len(), 1);
        assert_eq!(s.overall.get("failure"), Some(&1));
        assert!(!s.passed());
        assert_eq!(s.random_seed.as_deref(), Some("1796664290"));
        assert_eq!(s.bad_news, ["fw1 pacemaker-based[1]:  notice: Local CIB 0.6.99 differs from fw2: 0.6.97"]);
        // Bad news alone is no failure (CTS's own verdict).
        let only_bad_news = parse(&OUT.replace("'failure': 1, 'skipped'", "'failure': 0, 'skipped'").replace("Stonithd: Test failed", "Stonithd: note"));
        assert!(only_bad_news.passed());
    }

    #[test]
    fn no_tests_is_no_pass() {
        assert!(!parse("Dec 07 17:31:03\tOverall Results:{'success': 0, 'failure': 0, 'BadNews': 0, 'skipped': 0}\n").passed());
    }
}
