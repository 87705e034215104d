//! The JSON Schemas: schemas/ is what `halab schema` prints (so a changed file shape or a
//! changed --json output shows up in review as a changed schema), every shipped and example
//! file names its schema and validates against it in an independent validator (Debian's
//! python3-jsonschema, as an editor's would), and schema and halab agree on the shipped bad
//! inputs: a bad file the schema accepts is one halab refuses for a reason only the whole
//! file shows (a semantic check), and that list is pinned here.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ok, HALAB};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Validate each (file, schema) pair with python3-jsonschema (draft 2020-12); YAML read by
/// PyYAML with YAML 1.2's booleans. Returns, per file, None when valid or the validator's first message.
fn python_check(pairs: &[(PathBuf, PathBuf)]) -> Vec<Option<String>> {
    let script = r#"
import json, re, sys, yaml
from jsonschema import Draft202012Validator
# YAML 1.2, as halab's parser and editors' YAML servers read it: `off` and `yes` are text, not
# YAML 1.1 booleans (PyYAML's default).
class Yaml12(yaml.SafeLoader):
    pass
Yaml12.yaml_implicit_resolvers = {k: [(t, r) for t, r in v if t != "tag:yaml.org,2002:bool"] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Yaml12.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
for line in sys.stdin.read().splitlines():
    doc, schema = line.split("\t")
    text = open(doc).read()
    data = json.loads(text) if doc.endswith(".json") else yaml.load(text, Loader=Yaml12)
    errs = sorted(Draft202012Validator(json.load(open(schema))).iter_errors(data), key=lambda e: list(e.path))
    print("ok" if not errs else "invalid: " + "/".join(map(str, errs[0].path)) + ": " + errs[0].message[:300].replace("\n", " "))
"#;
    let input: String = pairs.iter().map(|(d, s)| format!("{}\t{}\n", d.display(), s.display())).collect();
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 (apt-get install python3-jsonschema python3-yaml)");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the validator failed: {}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Option<String>> = String::from_utf8_lossy(&out.stdout).lines().map(|l| (l != "ok").then(|| l.to_string())).collect();
    assert_eq!(lines.len(), pairs.len());
    lines
}

fn kinds() -> Vec<String> {
    ok(&["schema"]).lines().map(|l| l.split_whitespace().next().unwrap().to_string()).collect()
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "yaml")).collect();
    v.sort();
    v
}

/// Every file halab ships for users to read or copy.
fn shipped() -> Vec<PathBuf> {
    let r = repo();
    let mut v = Vec::new();
    for d in ["topologies", "scenarios", "studies", "images"] {
        v.extend(yaml_files(&r.join(d)));
    }
    let mut examples: Vec<PathBuf> = std::fs::read_dir(r.join("examples")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    examples.sort();
    for e in examples {
        v.extend(yaml_files(&e));
    }
    v
}

#[test]
fn schemas_folder_is_what_halab_prints() {
    let kinds = kinds();
    assert!(kinds.len() >= 10, "{kinds:?}");
    for k in &kinds {
        let printed = ok(&["schema", k]);
        let file = repo().join("schemas").join(format!("{k}.json"));
        let kept = std::fs::read_to_string(&file).unwrap_or_default();
        assert_eq!(kept, printed, "{} differs from `halab schema {k}`: run scripts/schemas (a changed shape is a change users see)", file.display());
    }
    let mut files: Vec<String> = std::fs::read_dir(repo().join("schemas")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    let mut want: Vec<String> = kinds.iter().map(|k| format!("{k}.json")).collect();
    want.sort();
    assert_eq!(files, want, "schemas/ holds exactly one file per kind");
    let bad = Command::new(HALAB).args(["schema", "topolgy"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("one of: topology, scenario"), "{}", String::from_utf8_lossy(&bad.stderr));
}

#[test]
fn every_shipped_file_names_its_schema_and_validates() {
    let files = shipped();
    assert!(files.len() >= 35, "{} files", files.len());
    let mut pairs = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let first = text.lines().next().unwrap_or("");
        let rel = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{}: no `# yaml-language-server: $schema=` first line", f.display()));
        let schema = f.parent().unwrap().join(rel);
        assert!(schema.is_file(), "{}: its schema {} does not exist", f.display(), schema.display());
        let kind = schema.file_stem().unwrap().to_string_lossy().into_owned();
        pairs.push((f.clone(), schema));
        if kind == "inventory" {
            continue; // its secrets are not shipped: validated from a copy, below
        }
        // halab itself reads the file as the kind its line names (`halab validate` says which).
        let said = ok(&["validate", f.to_str().unwrap()]);
        let word = if kind == "image" {
            "image recipe".to_string()
        } else if kind == "topology" {
            "networks".into()
        } else {
            kind.clone()
        };
        assert!(said.contains(&word), "{}: halab read it as something else than a {kind}: {said}", f.display());
    }
    let inventory = repo().join("examples/hosts-rack/inventory.yaml");
    assert!(files.contains(&inventory), "the example inventory is shipped");
    for (f, verdict) in files.iter().zip(python_check(&pairs)) {
        assert!(verdict.is_none(), "{} does not validate against its schema: {}", f.display(), verdict.unwrap());
    }
}

/// The example inventory is complete: a copy with the secrets it names validates; in place,
/// without them, each missing file is named at its line.
#[test]
fn example_inventory_validates_once_its_secrets_exist() {
    let src = repo().join("examples/hosts-rack/inventory.yaml");
    let bare = Command::new(HALAB).args(["validate", src.to_str().unwrap()]).output().unwrap();
    assert_eq!(bare.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bare.stderr);
    for missing in ["hosts.box1.key: no private key", "hosts.box1.power.password_file", "hosts.box1.cable.community_file", "hosts.box2.power.password_file"] {
        assert!(err.contains(missing), "{missing} not named: {err}");
    }
    let dir = std::env::temp_dir().join(format!("halab-inventory-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    std::fs::copy(&src, dir.join("inventory.yaml")).unwrap();
    let keygen = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(dir.join("keys/halab_ed25519")).status().unwrap();
    assert!(keygen.success());
    for f in ["box1.bmc", "box2.bmc", "sw1.community"] {
        std::fs::write(dir.join("keys").join(f), "secret\n").unwrap();
    }
    let said = ok(&["validate", dir.join("inventory.yaml").to_str().unwrap()]);
    assert!(said.contains("ok (inventory rack1, 3 hosts)"), "{said}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The shipped bad inputs: halab refuses every one (exit 2); those the schema accepts too are
/// semantic checks, and exactly these.
#[test]
fn schema_and_halab_agree_on_the_bad_inputs() {
    const SEMANTIC: &[&str] = &[
        "address-outside-subnet",
        "bad-package",
        "boot-time",
        "duplicate-address",
        "duplicate-network",
        "duplicate-node",
        "ifname-too-long",
        "keepalived-bad-hooks",
        "many-problems",
        "network-covers-mgmt-pool",
        "network-on-management",
        "node-provider",
        "node-without-interface",
        "overlapping-subnets",
        "prepare-empty",
        "resource-bad-agent",
        "resource-bad-constraint",
        "resource-missing-file",
        "unknown-choices",
        "unknown-network",
        "unknown-node",
        "vip-collides",
        "vm-size-out-of-range",
        "studies/bad",
        "studies/refused",
    ];
    let data = repo().join("lab/tests/data");
    let mut files: Vec<(String, PathBuf, &str)> =
        yaml_files(&data.join("bad")).into_iter().map(|f| (f.file_stem().unwrap().to_string_lossy().into_owned(), f, "topology")).collect();
    for s in ["bad", "refused"] {
        files.push((format!("studies/{s}"), data.join(format!("studies/{s}.yaml")), "study"));
    }
    let pairs: Vec<(PathBuf, PathBuf)> = files.iter().map(|(_, f, k)| (f.clone(), repo().join(format!("schemas/{k}.json")))).collect();
    // PyYAML cannot read a file that is not YAML at all: that one is the schema's refusal too.
    let readable: Vec<bool> = files.iter().map(|(n, _, _)| n != "syntax" && n != "empty").collect();
    let verdicts = python_check(&pairs.iter().zip(&readable).filter(|(_, r)| **r).map(|(p, _)| p.clone()).collect::<Vec<_>>());
    let mut verdicts = verdicts.into_iter();
    let mut semantic = Vec::new();
    let mut table = String::new();
    for ((name, file, _), r) in files.iter().zip(&readable) {
        let out = Command::new(HALAB).args(["validate", file.to_str().unwrap()]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "halab accepted the bad input {name}");
        let schema = if *r { verdicts.next().unwrap() } else { Some("not YAML".into()) };
        if schema.is_none() {
            semantic.push(name.as_str());
        }
        table.push_str(&format!("{name:<28} {}\n", schema.as_deref().unwrap_or("schema-valid: a semantic check")));
    }
    eprintln!("{table}");
    assert_eq!(semantic, SEMANTIC, "which bad inputs only halab refuses changed:\n{table}");
}

/// The JSON halab prints for scripts matches its schema: plan, vocabulary and ls here
/// (status is checked by every test that reads it, `common::status_json`).
#[test]
fn json_outputs_match_their_schemas() {
    let dir = std::env::temp_dir().join(format!("halab-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fw = repo().join("topologies/fw-pair.yaml");
    let mut pairs = Vec::new();
    for (kind, args) in [("plan", vec!["plan", fw.to_str().unwrap(), "--json"]), ("vocabulary", vec!["vocabulary", "--json"]), ("ls", vec!["ls", "--json"])] {
        let out = ok(&args);
        serde_json::from_str::<serde_json::Value>(&out).unwrap_or_else(|e| panic!("{kind}: not JSON: {e}"));
        let f = dir.join(format!("{kind}.json"));
        std::fs::write(&f, out).unwrap();
        pairs.push((f, repo().join(format!("schemas/{kind}.json"))));
    }
    // A wrong shape is caught: the plan with a field renamed.
    let plan = std::fs::read_to_string(&pairs[0].0).unwrap().replacen("\"networks\"", "\"nets\"", 1);
    std::fs::write(dir.join("bad-plan.json"), plan).unwrap();
    pairs.push((dir.join("bad-plan.json"), repo().join("schemas/plan.json")));
    let v = python_check(&pairs);
    for ((f, _), verdict) in pairs.iter().zip(&v).take(3) {
        assert!(verdict.is_none(), "{}: {}", f.display(), verdict.as_deref().unwrap());
    }
    assert!(v[3].is_some(), "a plan without `networks` passed its schema");
    std::fs::remove_dir_all(&dir).unwrap();
}
