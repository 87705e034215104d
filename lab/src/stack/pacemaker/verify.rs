//! crm_verify's words about the user's resources, each line pointed at where the user wrote
//! what it names: a line of the generated CIB it cites that came from the fragment (same
//! text), else the fragment line with an attribute it quotes, else the typed resource of that
//! id in the topology. Lines naming nothing of the user's stay as they are.

use crate::topology::resources::PlanService;

/// `stderr` of crm_verify on `cib` (the generated CIB at `cib_path`), its lines prefixed with
/// `file:line:` where one can be found.
pub fn locate(stderr: &str, svc: &PlanService, cib: &str, cib_path: &str) -> String {
    let frag = svc.cib.as_ref().and_then(|p| std::fs::read_to_string(p).ok().map(|t| (p, t)));
    let frag_line = |pred: &dyn Fn(&str) -> bool| frag.as_ref().and_then(|(p, t)| t.lines().position(pred).map(|n| format!("{}:{}", p.display(), n + 1)));
    // `cib.xml:56: element ...`: the generated line, found again in the fragment.
    let cited = |l: &str| {
        let n: usize = l.strip_prefix(cib_path)?.strip_prefix(':')?.split(':').next()?.parse().ok()?;
        let text = cib.lines().nth(n.checked_sub(1)?)?.trim();
        frag_line(&|x: &str| !text.is_empty() && x.trim() == text)
    };
    let named = |id: &str| {
        frag_line(&|x: &str| x.contains(&format!("id=\"{id}\"")))
            .or_else(|| frag_line(&|x: &str| x.contains(&format!("=\"{id}\""))))
            .or_else(|| svc.resources.iter().find(|r| r.id == id).map(|r| r.at.to_string()))
    };
    stderr
        .lines()
        .map(|l| match cited(l).or_else(|| quoted(l).into_iter().find_map(named)) {
            Some(a) => format!("{a}: {}", l.trim()),
            None => l.trim().to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The words between quotes ('x' or "x") in a line.
fn quoted(l: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for q in ['\'', '"'] {
        let parts: Vec<&str> = l.split(q).collect();
        out.extend(parts.iter().skip(1).step_by(2).take(parts.len().saturating_sub(1) / 2).filter(|w| !w.is_empty() && !w.contains(' ')));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_id_points_at_its_fragment_line_and_other_lines_stay() {
        let dir = std::env::temp_dir().join(format!("halab-verify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let frag = dir.join("extra.xml");
        std::fs::write(&frag, "<configuration>\n  <constraints>\n    <rsc_location id=\"loc-1\" rsc=\"nope\" node=\"a\" score=\"5\"/>\n").unwrap();
        let svc = PlanService { cib: Some(frag.clone()), ..Default::default() };
        let out = locate("error: Constraint 'loc-1': Invalid reference to 'nope'\nerror: CIB did not pass schema validation", &svc, "", "/c.xml");
        let want = format!("{}:3: error: Constraint 'loc-1': Invalid reference to 'nope'\nerror: CIB did not pass schema validation", frag.display());
        assert_eq!(out, want);
        // A generated line crm_verify cites, found in the fragment by its text.
        let cib = "<cib>\n<x/>\n      <rsc_location id=\"loc-1\" rsc=\"nope\" node=\"a\" score=\"5\"/>\n";
        let out = locate("/c.xml:3: element rsc_location: validity error : IDREF", &svc, cib, "/c.xml");
        assert_eq!(out, format!("{}:3: /c.xml:3: element rsc_location: validity error : IDREF", frag.display()));
        assert_eq!(quoted("a 'x' b \"y z\" 'w'"), ["x", "w"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
