//! Every metric a run records, defined once: its key, unit, value type and meaning.
//! Producers put through these definitions (the compiler checks the value's type), scenario
//! validation checks `expect:` and `report:` names against them, the report finds a traffic's
//! metric through them, and `halab vocabulary` lists them.
//!
//! A run's metrics are one flat map, as results.json has always kept them: the run's own
//! (`split_brain`, `fence.count`), one per member (`fenced.fw1`: `*` in the key), and one per
//! traffic, keyed `<traffic>.<metric>` (`probe.gap`).

pub mod run;
pub mod traffic;

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Ms,
    S,
    Count,
    Flag,
    Mbps,
    PerS,
    /// A share from 0 to 1.
    Share,
    /// `recovered`, `never_recovered`, `no_data` or `not_covered` (`measure::gap`).
    Outcome,
    Text,
    /// A list of names.
    Names,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::S => "s",
            Unit::Count => "count",
            Unit::Flag => "flag",
            Unit::Mbps => "Mbit/s",
            Unit::PerS => "req/s",
            Unit::Share => "share",
            Unit::Outcome => "outcome",
            Unit::Text => "text",
            Unit::Names => "names",
        }
    }

    /// Whether `v` is a value of this unit (null: not measured in this run).
    pub fn admits(self, v: &Value) -> bool {
        v.is_null()
            || match self {
                Unit::Flag => v.is_boolean(),
                Unit::Count => v.is_u64(),
                Unit::Outcome | Unit::Text => v.is_string(),
                Unit::Names => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
                Unit::Ms | Unit::S | Unit::Mbps | Unit::PerS | Unit::Share => v.is_number(),
            }
    }
}

/// A metric's definition. `key` is the run's key, or a traffic's (below its name); a `*`
/// stands for one member's name.
#[derive(Debug)]
pub struct Def {
    pub key: &'static str,
    pub unit: Unit,
    pub doc: &'static str,
}

impl Def {
    /// Whether `key` is this metric (a `*` matches one member name).
    pub fn matches(&self, key: &str) -> bool {
        let (a, b): (Vec<&str>, Vec<&str>) = (self.key.split('.').collect(), key.split('.').collect());
        a.len() == b.len() && a.iter().zip(&b).all(|(p, k)| *p == "*" && !k.is_empty() || p == k)
    }
}

/// A metric whose values are `T`.
pub struct Metric<T> {
    pub def: Def,
    _t: PhantomData<fn(T)>,
}

impl<T> Metric<T> {
    pub const fn new(key: &'static str, unit: Unit, doc: &'static str) -> Self {
        Metric { def: Def { key, unit, doc }, _t: PhantomData }
    }
}

impl<T> AsRef<Def> for Metric<T> {
    fn as_ref(&self) -> &Def {
        &self.def
    }
}

impl AsRef<Def> for Def {
    fn as_ref(&self) -> &Def {
        self
    }
}

/// A run's metrics, as results.json keeps them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Metrics(pub BTreeMap<String, Value>);

impl std::ops::Deref for Metrics {
    type Target = BTreeMap<String, Value>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Metrics {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl From<BTreeMap<String, Value>> for Metrics {
    fn from(m: BTreeMap<String, Value>) -> Self {
        Metrics(m)
    }
}

fn value<T: Serialize>(def: &Def, v: T) -> Value {
    let v = serde_json::to_value(v).unwrap_or(Value::Null);
    debug_assert!(def.unit.admits(&v), "{} ({}) got {v}", def.key, def.unit.as_str());
    v
}

impl Metrics {
    /// A metric of the run.
    pub fn put<T: Serialize>(&mut self, m: &Metric<T>, v: T) {
        self.0.insert(m.def.key.to_string(), value(&m.def, v));
    }

    /// A metric of one member: the `*` of its key is the member's name.
    pub fn put_member<T: Serialize>(&mut self, m: &Metric<T>, member: &str, v: T) {
        self.0.insert(m.def.key.replacen('*', member, 1), value(&m.def, v));
    }

    /// A metric of the traffic `traffic`: `<traffic>.<key>`.
    pub fn put_of<T: Serialize>(&mut self, traffic: &str, m: &Metric<T>, v: T) {
        self.0.insert(format!("{traffic}.{}", m.def.key), value(&m.def, v));
    }

    /// The traffic `traffic`'s value of `m`.
    pub fn of<T>(&self, traffic: &str, m: &Metric<T>) -> Option<&Value> {
        self.0.get(&format!("{traffic}.{}", m.def.key))
    }

    /// A run metric's value as a number.
    pub fn f64<T>(&self, m: &Metric<T>) -> Option<f64> {
        self.0.get(m.def.key).and_then(Value::as_f64)
    }

    /// Every traffic's value of a traffic metric: (traffic name, value). The one place that
    /// reads the `<traffic>.<key>` layout back.
    pub fn of_traffics<'a>(&'a self, m: &impl AsRef<Def>) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        let tail = format!(".{}", m.as_ref().key);
        self.0.iter().filter_map(move |(k, v)| {
            let name = k.strip_suffix(&tail)?;
            // `probe.tcp.gap` is probe's `tcp.gap`, not a traffic `probe.tcp`'s `gap`.
            (!name.contains('.')).then_some((name, v))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAP: Metric<f64> = Metric::new("gap", Unit::Ms, "");
    const FENCED: Metric<bool> = Metric::new("fenced.*", Unit::Flag, "");

    #[test]
    fn keys_of_members_and_traffics() {
        let mut m = Metrics::default();
        m.put_of("probe", &GAP, 12.5);
        m.put_of("probe", &Metric::<f64>::new("tcp.gap", Unit::Ms, ""), 20.0);
        m.put_member(&FENCED, "fw2", true);
        assert_eq!(m.get("probe.gap"), Some(&serde_json::json!(12.5)));
        assert_eq!(m.get("fenced.fw2"), Some(&serde_json::json!(true)));
        assert!(FENCED.def.matches("fenced.fw2") && !FENCED.def.matches("fenced") && !FENCED.def.matches("fenced.a.b"));
        let gaps: Vec<(&str, &Value)> = m.of_traffics(&GAP).collect();
        assert_eq!(gaps, vec![("probe", &serde_json::json!(12.5))], "probe.tcp.gap is not a traffic `probe.tcp`'s gap");
    }

    /// What a record's key is: a run metric, or `<traffic>.<key>` of some traffic kind.
    fn def_of(key: &str) -> Option<&'static Def> {
        let kinds = crate::scenario::traffic::KINDS.iter().flat_map(|k| k.metrics.iter().copied());
        run::ALL.iter().copied().find(|d| d.matches(key)).or_else(|| {
            let (_, rest) = key.split_once('.')?;
            kinds.into_iter().find(|d| d.matches(rest))
        })
    }

    /// Every metric of every shipped run record is defined here, with a value of its unit:
    /// the registry is what halab records, not a list beside it.
    #[test]
    fn every_metric_of_the_shipped_records_is_defined_with_its_unit() {
        let mut files = Vec::new();
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.file_name().is_some_and(|n| n == "results.json") {
                    files.push(p);
                }
            }
        }
        assert!(files.len() > 50, "the shipped reports' records: {}", files.len());
        let mut seen = 0;
        for f in &files {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            let records = v.as_array().cloned().unwrap_or_else(|| vec![v]);
            for (k, x) in records.iter().filter_map(|r| r["metrics"].as_object()).flatten() {
                let d = def_of(k).unwrap_or_else(|| panic!("{}: `{k}` is no metric halab defines", f.display()));
                assert!(d.unit.admits(x), "{}: `{k}` is {x}, not a value in {}", f.display(), d.unit.as_str());
                seen += 1;
            }
        }
        assert!(seen > 1000, "{seen} values checked");
    }

    /// The thresholds the docs quote are the ones the code uses.
    #[test]
    fn the_docs_quote_the_thresholds_in_force() {
        let split = format!("longer than {} s", crate::scenario::watch::SPLIT_BRAIN_MS / 1000.0);
        assert!(run::SPLIT_BRAIN.def.doc.contains(&split), "{}", run::SPLIT_BRAIN.def.doc);
        let starved = format!("above {} ms", crate::report::STARVED_TICK_MS);
        assert!(traffic::PROBE_TICK_LATE_P99.def.doc.contains(&starved), "{}", traffic::PROBE_TICK_LATE_P99.def.doc);
        let saturated = format!("at {} or more", crate::scenario::traffic::AB_SATURATED);
        assert!(traffic::AB_CLIENT_CPU.def.doc.contains(&saturated), "{}", traffic::AB_CLIENT_CPU.def.doc);
    }

    #[test]
    fn a_unit_admits_its_own_values_and_null() {
        assert!(Unit::Count.admits(&serde_json::json!(3)) && !Unit::Count.admits(&serde_json::json!(1.5)));
        assert!(Unit::Flag.admits(&Value::Null) && !Unit::Flag.admits(&serde_json::json!(1)));
        assert!(Unit::Names.admits(&serde_json::json!(["fw1"])) && !Unit::Names.admits(&serde_json::json!("fw1")));
    }
}
