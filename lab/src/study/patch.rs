//! A swept value applied to a topology by its path. The topology's text is read as a tree, the
//! value set at the path (missing sections created) and the result validated as the user's own
//! file would be: defaults that follow a setting (corosync's consensus from its token) follow
//! it, and what the stack would refuse is refused by the same checks as in a topology.
//! The patched plan's positions are those of the regenerated text: the study reports its own
//! problems at the study file's lines, never at those.

use serde_json::Value;

use crate::topology::Stack;

/// Which stack reads the setting at `path`; None: both (the image, the sync, the firewall).
pub fn reader(path: &str) -> Option<Stack> {
    let section = path.strip_prefix("cluster.").and_then(|p| p.split('.').next()).unwrap_or("");
    match section {
        "keepalived" => Some(Stack::Keepalived),
        "corosync" | "pacemaker" | "fencing" => Some(Stack::Pacemaker),
        // The OCF agent that runs conntrackd is pacemaker's.
        "sync" if path == "cluster.sync.agent" => Some(Stack::Pacemaker),
        _ => None,
    }
}

/// The value as a topology writes it (`500ms`, `notrack`, `true`, `2`).
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A YAML document as a tree that keeps its mappings' order (the order of networks, nodes and
/// members means something in a topology; serde_json's map sorts its keys).
#[derive(Debug, Clone, PartialEq)]
enum Tree {
    Scalar(Value),
    Seq(Vec<Tree>),
    Map(Vec<(String, Tree)>),
}

impl<'de> serde::Deserialize<'de> for Tree {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Tree;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_bool<E>(self, b: bool) -> Result<Tree, E> {
                Ok(Tree::Scalar(Value::Bool(b)))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Tree, E> {
                Ok(Tree::Scalar(Value::from(n)))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Tree, E> {
                Ok(Tree::Scalar(Value::from(n)))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Tree, E> {
                Ok(Tree::Scalar(Value::from(n)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Tree, E> {
                Ok(Tree::Scalar(Value::String(s.to_string())))
            }
            fn visit_unit<E>(self) -> Result<Tree, E> {
                Ok(Tree::Scalar(Value::Null))
            }
            fn visit_none<E>(self) -> Result<Tree, E> {
                Ok(Tree::Scalar(Value::Null))
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
                serde::Deserialize::deserialize(d)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Tree, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(Tree::Seq(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Tree, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = a.next_entry::<String, Tree>()? {
                    v.push((k, x));
                }
                Ok(Tree::Map(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl serde::Serialize for Tree {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Tree::Scalar(v) => v.serialize(s),
            Tree::Seq(xs) => {
                let mut q = s.serialize_seq(Some(xs.len()))?;
                for x in xs {
                    q.serialize_element(x)?;
                }
                q.end()
            }
            Tree::Map(kv) => {
                let mut m = s.serialize_map(Some(kv.len()))?;
                for (k, v) in kv {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

/// The topology `text` with every `(path, value)` set; Err says why a path cannot be set.
pub fn apply(text: &str, settings: &[(&str, &Value)]) -> Result<String, String> {
    // YAML 1.2 booleans: `action: off` stays the word the topology means, not `false`.
    let mut options = serde_saphyr::options::Options::default();
    options.strict_booleans = true;
    let mut tree: Tree = serde_saphyr::from_str_with_options(text, options).map_err(|e| format!("the topology does not parse: {e}"))?;
    for (path, value) in settings {
        set(&mut tree, path, (*value).clone())?;
    }
    serde_saphyr::to_string(&tree).map_err(|e| format!("cannot write the patched topology: {e}"))
}

fn set(tree: &mut Tree, path: &str, value: Value) -> Result<(), String> {
    let keys: Vec<&str> = path.split('.').collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(format!("`{path}` is not a path: write the topology's keys joined by dots, e.g. cluster.corosync.token"));
    }
    let mut at = tree;
    for (i, k) in keys.iter().enumerate() {
        if matches!(at, Tree::Scalar(Value::Null)) && i > 1 {
            *at = Tree::Map(Vec::new());
        }
        let Tree::Map(map) = at else {
            return Err(format!("`{}` is not a section in the topology", keys[..i].join(".")));
        };
        let found = map.iter().position(|(n, _)| n == k);
        if i + 1 == keys.len() {
            match found {
                Some(j) => map[j].1 = Tree::Scalar(value),
                None => map.push((k.to_string(), Tree::Scalar(value))),
            }
            return Ok(());
        }
        // A section the topology leaves out (`cluster.corosync` on a keepalived pair) is
        // created; `cluster` itself is not: a topology without a cluster has nothing to sweep.
        let j = match found {
            Some(j) => j,
            None if i == 0 => return Err(format!("the topology has no `{k}:` section")),
            None => {
                map.push((k.to_string(), Tree::Map(Vec::new())));
                map.len() - 1
            }
        };
        at = &mut map[j].1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_lands_at_its_path_and_missing_sections_are_made() {
        let t = "name: x\ncluster:\n  members: [a, b]\n  keepalived: { advert_int: 1s }\n";
        let v = Value::String("500ms".into());
        let out = apply(t, &[("cluster.keepalived.advert_int", &v), ("cluster.corosync.token", &v)]).unwrap();
        let back: Value = serde_saphyr::from_str(&out).unwrap();
        assert!(out.find("keepalived").unwrap() < out.find("corosync").unwrap(), "order kept: {out}");
        assert_eq!(back["cluster"]["keepalived"]["advert_int"], "500ms");
        assert_eq!(back["cluster"]["corosync"]["token"], "500ms");
        assert_eq!(back["cluster"]["members"][1], "b");
        assert!(apply("name: x\n", &[("cluster.corosync.token", &v)]).unwrap_err().contains("no `cluster:`"));
        assert!(apply(t, &[("name.x", &v)]).unwrap_err().contains("`name` is not a section"));
    }

    /// Spans (`[file, line, col]`) point into the regenerated text: everything else must be
    /// the same plan.
    fn without_spans(v: Value) -> Value {
        match v {
            Value::Array(a) if a.len() == 3 && a[0].is_string() && a[1].is_number() && a[2].is_number() => Value::Null,
            Value::Array(a) => Value::Array(a.into_iter().map(without_spans).collect()),
            Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, without_spans(v))).collect()),
            other => other,
        }
    }

    #[test]
    fn every_shipped_topology_survives_the_rewrite_unchanged() {
        let mut files: Vec<std::path::PathBuf> = Vec::new();
        for dir in ["../topologies", "../examples/dhcp-ha", "../examples/ovn-ha", "../examples/web-ha", "../examples/conntrackd-agent"] {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                if p.extension().is_some_and(|x| x == "yaml") && text.lines().any(|l| l.starts_with("nodes:")) {
                    files.push(p);
                }
            }
        }
        assert!(files.len() >= 6, "{files:?}");
        for p in files {
            let text = std::fs::read_to_string(&p).unwrap();
            let plan = |t: &str| {
                without_spans(serde_json::to_value(crate::topology::load_str(&p, t, None).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap())
            };
            assert_eq!(plan(&apply(&text, &[]).unwrap()), plan(&text), "{}", p.display());
        }
    }

    #[test]
    fn who_reads_what() {
        assert_eq!(reader("cluster.keepalived.advert_int"), Some(Stack::Keepalived));
        assert_eq!(reader("cluster.corosync.token"), Some(Stack::Pacemaker));
        assert_eq!(reader("cluster.fencing.priority_delay"), Some(Stack::Pacemaker));
        assert_eq!(reader("cluster.sync.conntrackd"), None);
        assert_eq!(reader("image"), None);
    }
}
