//! The static layer: what the agent says about itself, checked without running a resource.
//! The rules are resource-agents' own CI (`make check`: metadata.rng with xmllint; ci/build.sh:
//! shellcheck with its exclusions, units on timeouts) plus the OCF spec's required actions.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::agent::{Agent, OCF_ROOT};
use super::Check;

const LAYER: &str = "static";
const RNG_DIR: &str = "/usr/share/resource-agents";
/// resource-agents' ci/build.sh: `shellcheck -s sh -f gcc -x -e $ignored_errors`.
const SHELLCHECK_EXCLUDE: &str = "SC1090,SC2039,SC2154,SC1087";

/// What the meta-data declares (the single-node layer needs the required parameters).
#[derive(Debug, Default)]
pub struct Meta {
    /// (name, required)
    pub params: Vec<(String, bool)>,
    pub actions: Vec<MetaAction>,
}

/// An `<action>` of the meta-data, with its line there.
#[derive(Debug)]
pub struct MetaAction {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub line: usize,
}

fn parse(text: &str) -> Result<Meta, String> {
    let mut r = Reader::from_str(text);
    let mut m = Meta::default();
    loop {
        let pos = r.buffer_position() as usize;
        let e = match r.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => e,
            Ok(Event::Eof) => break,
            Ok(_) => continue,
            Err(e) => return Err(format!("at byte {}: {e}", r.buffer_position())),
        };
        let attrs: Vec<(String, String)> = e
            .attributes()
            .flatten()
            .map(|a| {
                (
                    String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map(|v| v.into_owned()).unwrap_or_default(),
                )
            })
            .collect();
        let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        match e.name().as_ref() {
            b"parameter" => m.params.push((get("name").unwrap_or_default(), get("required").as_deref() == Some("1"))),
            b"action" => {
                let line = text[..pos.min(text.len())].matches('\n').count() + 1;
                m.actions.push(MetaAction { name: get("name").unwrap_or_default(), attrs: attrs.clone(), line });
            }
            _ => {}
        }
    }
    Ok(m)
}

/// The meta-data's line `n` (1-based), for evidence.
fn line(text: &str, n: usize) -> String {
    text.lines().nth(n.saturating_sub(1)).map(|l| format!("  | {n}: {}", l.trim())).unwrap_or_default()
}

pub fn run(a: &Agent, promotable: bool) -> (Vec<Check>, Option<Meta>) {
    let mut out = Vec::new();
    // Pacemaker asks for meta-data with no instance at all: no parameters, nothing but OCF_ROOT.
    let argv = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", &format!("OCF_ROOT={OCF_ROOT}"), &a.path(), "meta-data"];
    let md = a.node.exec(&argv, None, crate::cmd::limit::SCRIPT);
    let (rc, text) = match &md {
        Ok(o) => (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned()),
        Err(e) => (None, format!("{e:#}")),
    };
    let ok = rc == Some(0) && !text.trim().is_empty();
    let mut ev = vec![format!("env -i OCF_ROOT={OCF_ROOT} {} meta-data → {}", a.path(), rc.map(|r| r.to_string()).unwrap_or("none".into()))];
    if !ok {
        ev.extend(
            md.as_ref().ok().map(|o| String::from_utf8_lossy(&o.stderr).lines().take(4).map(|l| format!("  | {l}")).collect::<Vec<_>>()).unwrap_or_default(),
        );
    }
    out.push(Check::new(LAYER, "meta-data prints with no parameters and no environment", ok, ev));
    if !ok {
        return (out, None);
    }
    let lint = |args: &[&str]| a.node.exec(&[&["xmllint"], args].concat(), Some(text.as_bytes()), crate::cmd::limit::SCRIPT);
    // Well-formed, whatever the schema.
    let wf = lint(&["--noout", "-"]);
    let wf_ok = wf.as_ref().is_ok_and(|o| o.status.success());
    let wf_ev = match &wf {
        Ok(o) => String::from_utf8_lossy(&o.stderr).lines().take(6).map(|l| format!("  | {l}")).collect(),
        Err(e) => vec![format!("{e:#}")],
    };
    out.push(Check::new(LAYER, "meta-data is well-formed XML", wf_ok, [vec!["xmllint --noout -".to_string()], wf_ev].concat()));
    let meta = match parse(&text) {
        Ok(m) if wf_ok => m,
        _ => return (out, None),
    };
    // resource-agents' `make check`: metadata.rng (OCF 1.1 role names, no unknown attributes).
    let rng = lint(&["--path", RNG_DIR, "--noout", "--relaxng", &format!("{RNG_DIR}/metadata.rng"), "-"]);
    let (rng_ok, mut rng_ev) = match &rng {
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr).into_owned();
            let mut ev = Vec::new();
            for l in err.lines().filter(|l| l.contains("error")) {
                ev.push(format!("  | {l}"));
                // `-:157: element action: ...`: show the meta-data's line.
                if let Some(n) = l.strip_prefix("-:").and_then(|r| r.split(':').next()).and_then(|n| n.parse::<usize>().ok()) {
                    ev.push(line(&text, n));
                }
            }
            (o.status.success(), ev)
        }
        Err(e) => (false, vec![format!("{e:#}")]),
    };
    rng_ev.insert(0, format!("xmllint --relaxng {RNG_DIR}/metadata.rng -"));
    out.push(Check::new(LAYER, "meta-data validates against resource-agents' metadata.rng", rng_ok, rng_ev));
    // The OCF spec's mandatory actions; a promotable agent's promote and demote (and notify,
    // which a promotable clone is configured with).
    let mut need = vec!["start", "stop", "monitor", "meta-data"];
    if promotable {
        need.extend(["promote", "demote", "notify"]);
    }
    let missing: Vec<&str> = need.iter().copied().filter(|n| !meta.actions.iter().any(|a| a.name == *n)).collect();
    let mut ev = vec![format!("advertised: {}", meta.actions.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "))];
    if !missing.is_empty() {
        ev.push(format!("missing: {}", missing.join(", ")));
    }
    out.push(Check::new(LAYER, &format!("the required actions are advertised ({})", need.join(", ")), missing.is_empty(), ev));
    // ci/build.sh: `timeout="20"` must be `timeout="20s"`.
    let bare: Vec<String> = meta
        .actions
        .iter()
        .flat_map(|MetaAction { name, attrs, line: l }| {
            attrs
                .iter()
                .filter(|(k, v)| matches!(k.as_str(), "timeout" | "interval" | "start-delay") && !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
                .map(move |(k, v)| format!("action {name} {k}=\"{v}\" (meta-data line {l})"))
        })
        .collect();
    let ev = if bare.is_empty() { vec!["every timeout, interval and start-delay has a unit".into()] } else { bare.clone() };
    out.push(Check::new(LAYER, "timeouts and intervals carry units", bare.is_empty(), ev));
    out.extend(shellcheck(a));
    (out, Some(meta))
}

/// shellcheck as resource-agents' CI runs it; only errors fail (its CI counts warnings as
/// warnings). A bash agent is checked as bash (the CI skips bash agents).
fn shellcheck(a: &Agent) -> Option<Check> {
    let head = a.node.run(&["head", "-n1", &a.path()]).ok()?;
    let shell = match head.trim() {
        h if h.starts_with("#!") && h.contains("bash") => "bash",
        h if h.starts_with("#!") && (h.ends_with("/sh") || h.contains("/sh ") || h.contains("dash")) => "sh",
        _ => return None,
    };
    let o = a.node.exec(&["shellcheck", "-s", shell, "-f", "gcc", "-x", "-e", SHELLCHECK_EXCLUDE, &a.path()], None, crate::cmd::limit::BULK);
    let text = match o {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(e) => return Some(Check::new(LAYER, "shellcheck finds no error", false, vec![format!("{e:#}")])),
    };
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(": error:")).collect();
    let warnings = text.lines().filter(|l| l.contains(": warning:")).count();
    let mut ev = vec![format!("shellcheck -s {shell} -f gcc -x -e {SHELLCHECK_EXCLUDE}: {} errors, {warnings} warnings", errors.len())];
    ev.extend(errors.iter().take(8).map(|l| format!("  | {}", l.replace(&a.path(), &a.kind))));
    Some(Check::new(LAYER, "shellcheck finds no error", errors.is_empty(), ev))
}
