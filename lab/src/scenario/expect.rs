//! Expectations: `<traffic>.completed`, `<traffic>.tcp.survived`, `<traffic>.gap < 15s`, `split_brain == false`.
//! A bare metric must be true; a comparison takes a number (durations in ms) or a boolean.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Value {
    Num(f64),
    Bool(bool),
}

#[derive(Debug, Clone, Serialize)]
pub struct Expect {
    pub text: String,
    pub metric: String,
    pub op: Option<Op>,
    pub value: Option<Value>,
}

pub fn parse(text: &str) -> Result<Expect, String> {
    let t = text.trim();
    let ops = [("<=", Op::Le), (">=", Op::Ge), ("==", Op::Eq), ("!=", Op::Ne), ("<", Op::Lt), (">", Op::Gt)];
    for (sym, op) in ops {
        if let Some((l, r)) = t.split_once(sym) {
            let metric = l.trim().to_string();
            check_metric(&metric)?;
            let r = r.trim();
            let value = match r {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => match crate::topology::duration::parse(r) {
                    Some(d) => Value::Num(d.as_secs_f64() * 1000.0),
                    None => Value::Num(r.parse::<f64>().map_err(|_| format!("`{r}` is not a number, a duration or a boolean"))?),
                },
            };
            return Ok(Expect { text: t.to_string(), metric, op: Some(op), value: Some(value) });
        }
    }
    check_metric(t)?;
    Ok(Expect { text: t.to_string(), metric: t.to_string(), op: None, value: None })
}

/// A metric name: letters, digits, `.`, `_` and `-`.
pub fn check_metric(m: &str) -> Result<(), String> {
    if m.is_empty() || !m.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-') {
        return Err(format!("`{m}` is not a metric name (`<traffic>.<metric>`, or a lab metric like split_brain)"));
    }
    Ok(())
}

/// (held, what the metric was) — a missing metric never holds.
pub fn eval(e: &Expect, metrics: &BTreeMap<String, serde_json::Value>) -> (bool, Option<serde_json::Value>) {
    let Some(actual) = metrics.get(&e.metric).cloned() else { return (false, None) };
    // A number whose outcome is not `recovered` is a lower bound (silence up to the run's
    // end), not a measurement: no bound on it holds, and the actual value says why.
    if let Some(o) = super::results::outcome_of(metrics, &e.metric).and_then(|o| o.as_str()).filter(|o| *o != "recovered") {
        if matches!(e.value, Some(Value::Num(_))) {
            return (false, Some(serde_json::json!(format!("{} ({actual} ms at least)", o.replace('_', " ")))));
        }
    }
    let held = match (&e.op, &e.value) {
        (None, _) => actual.as_bool() == Some(true),
        (Some(op), Some(Value::Bool(b))) => match (op, actual.as_bool()) {
            (Op::Eq, Some(a)) => a == *b,
            (Op::Ne, Some(a)) => a != *b,
            _ => false,
        },
        (Some(op), Some(Value::Num(n))) => match actual.as_f64() {
            Some(a) => match op {
                Op::Lt => a < *n,
                Op::Le => a <= *n,
                Op::Gt => a > *n,
                Op::Ge => a >= *n,
                Op::Eq => (a - n).abs() < 1e-9,
                Op::Ne => (a - n).abs() >= 1e-9,
            },
            None => false,
        },
        (Some(_), None) => false,
    };
    (held, Some(actual))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_never_holds_on_a_gap_that_never_recovered() {
        let p = |t: &str| parse(t).unwrap();
        let mut m = BTreeMap::new();
        m.insert("probe.gap".to_string(), serde_json::json!(4000.0));
        m.insert("probe.gap_outcome".to_string(), serde_json::json!("recovered"));
        assert!(eval(&p("probe.gap < 15s"), &m).0, "a real gap of 4 s is below 15 s");
        m.insert("probe.gap_outcome".to_string(), serde_json::json!("never_recovered"));
        let (held, actual) = eval(&p("probe.gap < 15s"), &m);
        assert!(!held, "4 s of silence to the end of the run is not a 4 s gap");
        assert_eq!(actual, Some(serde_json::json!("never recovered (4000.0 ms at least)")));
    }

    fn m() -> BTreeMap<String, serde_json::Value> {
        let mut m = BTreeMap::new();
        m.insert("ping.gap".into(), serde_json::json!(3200.0));
        m.insert("copy.completed".into(), serde_json::json!(true));
        m.insert("split_brain".into(), serde_json::json!(false));
        m
    }

    #[test]
    fn comparisons_and_bare_metrics() {
        assert!(eval(&parse("ping.gap < 15s").unwrap(), &m()).0);
        assert!(!eval(&parse("ping.gap < 3s").unwrap(), &m()).0);
        assert!(eval(&parse("ping.gap >= 3200").unwrap(), &m()).0);
        assert!(eval(&parse("copy.completed").unwrap(), &m()).0);
        assert!(eval(&parse("split_brain == false").unwrap(), &m()).0);
        assert!(!eval(&parse("split_brain").unwrap(), &m()).0);
        assert!(!eval(&parse("missing.metric").unwrap(), &m()).0, "a missing metric never holds");
        assert!(parse("ping.gap < soon").is_err());
        assert!(parse("ping gap").is_err());
    }
}
