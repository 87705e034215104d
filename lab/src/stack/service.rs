//! What the user brings into the nodes at `up`, before any stack starts: files (per node and
//! for every member) and OCF agent directories (in every member, under
//! /usr/lib/ocf/resource.d/<provider>/). They land on the node's disk, so a node that boots
//! again still has them.

use anyhow::{Context, Result};

use crate::lab::Lab;
use crate::node::Node;
use crate::topology::resources::PlanFile;

const OCF: &str = "/usr/lib/ocf/resource.d";

fn put(node: &Node, f: &PlanFile) -> Result<()> {
    let bytes = std::fs::read(&f.from).with_context(|| format!("cannot read {}", f.from.display()))?;
    if let Some(dir) = std::path::Path::new(&f.to).parent() {
        node.run(&["mkdir", "-p", &dir.to_string_lossy()])?;
    }
    node.put_bytes(&f.to, &bytes, f.mode, "root:root")
}

pub fn install(lab: &Lab) -> Result<()> {
    let svc = lab.plan.cluster.as_ref().map(|c| (&c.members, &c.service));
    let each = |name: &String| -> Result<()> {
        let pn = lab.plan.node(name).context("node not in plan")?;
        let member = svc.is_some_and(|(m, _)| m.contains(name));
        if pn.files.is_empty() && !member {
            return Ok(());
        }
        let node = lab.node(name)?;
        for f in &pn.files {
            put(&node, f).with_context(|| format!("copying {} to {name}:{}", f.from.display(), f.to))?;
        }
        if let Some((_, s)) = svc.filter(|_| member) {
            for f in &s.files {
                put(&node, f).with_context(|| format!("copying {} to {name}:{}", f.from.display(), f.to))?;
            }
            for (provider, dir) in &s.agents {
                let to = format!("{OCF}/{provider}");
                node.run(&["mkdir", "-p", &to])?;
                for e in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
                    let p = e?.path();
                    if p.is_file() {
                        let file = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                        put(&node, &PlanFile { from: p.clone(), to: format!("{to}/{file}"), mode: 0o755 })
                            .with_context(|| format!("installing agent {} on {name}", p.display()))?;
                    }
                }
            }
            node.run(&["sync"])?;
        }
        Ok(())
    };
    let names: Vec<String> = lab.plan.nodes.iter().map(|n| n.name.clone()).collect();
    crate::parallel::try_each(&names, each).map(|_| ())
}
