//! A comparison in words: what the test can say with this many runs (and when it cannot, the
//! numbers why), whether the runs overlap at all, how big the shift is, and how p was found.

use crate::measure::compare::{Comparison, Side};

/// Time metrics, where lower is faster.
pub fn is_time(unit: &str) -> bool {
    matches!(unit, "ms" | "s")
}

/// A signed number as the table shows the unit (ms as seconds), and the unit shown.
fn signed(x: f64, unit: &str) -> (String, &str) {
    // + 0.0 turns -0.0 into 0.0: no "-0.00 s".
    match unit {
        "ms" => (format!("{:+.2}", x / 1000.0 + 0.0), "s"),
        "s" => (format!("{:+.2}", x + 0.0), "s"),
        _ => (format!("{:+.0}", x + 0.0), unit),
    }
}

fn amount(x: f64, unit: &str) -> String {
    let (x, unit) = signed(x, unit);
    format!("{x} {unit}")
}

fn p_text(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {p:.3}")
    }
}

/// "every run of keepalived was faster than every run of pacemaker", when no run overlaps.
pub fn apart_text(side: Side, a: &str, b: &str, unit: &str) -> String {
    let word = match (side, is_time(unit)) {
        (Side::Below, true) => "faster",
        (Side::Above, true) => "slower",
        (Side::Below, false) => "lower",
        (Side::Above, false) => "higher",
    };
    format!("every run of {a} was {word} than every run of {b}")
}

/// Stack `a` against stack `b` on a metric in `unit`; `left_out` names the runs that did not
/// recover (they are in no sample).
pub fn comparison_text(c: &Comparison, a: &str, b: &str, unit: &str, left_out: &[String]) -> String {
    let level = (1.0 - c.alpha) * 100.0;
    let verdict = if c.beyond_noise {
        "the difference is beyond run-to-run noise".to_string()
    } else if c.all_equal {
        format!("{} vs {} runs, every one of them gave the same number: nothing to tell apart", c.n_a, c.n_b)
    } else if c.min_p >= c.alpha {
        let side = if c.min_p > c.alpha { "above" } else { "not below" };
        format!("{} vs {} runs: the smallest possible p is {:.3}, {side} {}, too few runs to tell a difference from noise", c.n_a, c.n_b, c.min_p, c.alpha)
    } else {
        "the difference is within run-to-run noise".to_string()
    };
    let apart = c.separated.map(|s| format!("; {}", apart_text(s, a, b, unit))).unwrap_or_default();
    let ci = match &c.shift_ci {
        Some(i) => {
            let how = i.coverage.map_or_else(|| "normal approximation".to_string(), |cv| format!("exact coverage {:.1} %", cv * 100.0));
            format!("{level:.0} % CI {} to {}, {how}", signed(i.lo, unit).0, amount(i.hi, unit))
        }
        None => format!("no {level:.0} % CI from {} vs {} runs", c.n_a, c.n_b),
    };
    let on = if left_out.is_empty() { ":".to_string() } else { format!(" of the recovered runs, left out {};", left_out.join(", ")) };
    format!(
        "{verdict}{apart}. Shift {b} − {a}: {} (Hodges–Lehmann; {ci}). Mann–Whitney U test{on} U = {}, {}, {}.",
        amount(c.shift, unit),
        c.u,
        c.method,
        p_text(c.p_value)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::compare::mann_whitney;

    /// The case: 3.22–3.24 s against 6.37–7.92 s, 3 runs each.
    #[test]
    fn separated_small_samples_say_why_no_test_can_tell() {
        let c = mann_whitney(&[3220.0, 3230.0, 3240.0], &[6370.0, 7100.0, 7920.0], 0.05).unwrap();
        assert_eq!(
            comparison_text(&c, "keepalived", "pacemaker", "ms", &[]),
            "3 vs 3 runs: the smallest possible p is 0.100, above 0.05, too few runs to tell a difference from noise; every run of keepalived was faster \
             than every run of pacemaker. Shift pacemaker − keepalived: +3.87 s (Hodges–Lehmann; no 95 % CI from 3 vs 3 runs). Mann–Whitney U test: U = 0, \
             exact, p = 0.100."
        );
    }

    #[test]
    fn overlapping_samples_name_no_order() {
        let c = mann_whitney(&[1.0, 3.0, 5.0, 7.0, 9.0], &[2.0, 4.0, 6.0, 8.0, 10.0], 0.05).unwrap();
        let t = comparison_text(&c, "keepalived", "pacemaker", "Mbit/s", &[]);
        assert!(t.starts_with("the difference is within run-to-run noise. Shift pacemaker − keepalived: +1 Mbit/s"), "{t}");
        assert!(!t.contains("every run"), "{t}");
        assert!(t.contains("95 % CI -5 to +7 Mbit/s, exact coverage 96.8 %"), "{t}");
        assert_eq!(apart_text(Side::Above, "a", "b", "Mbit/s"), "every run of a was higher than every run of b");
        assert_eq!(apart_text(Side::Above, "a", "b", "ms"), "every run of a was slower than every run of b");
    }
}
