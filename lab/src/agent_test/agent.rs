//! Calling the agent under test inside a lab node, as pacemaker's executor would: a clean
//! environment with OCF_ROOT, the instance's name and type, and its parameters.

use std::time::Duration;

use crate::node::Node;

/// Where agents live in every node.
pub const OCF_ROOT: &str = "/usr/lib/ocf";
const PATH: &str = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
/// The instance name the checks give the agent (`OCF_RESOURCE_INSTANCE`).
pub const INSTANCE: &str = "halabtest";
/// An action may take this long before it counts as hung.
const ACTION_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Agent<'a> {
    pub node: &'a Node,
    /// The agent's type (its file name).
    pub kind: String,
    pub params: Vec<(String, String)>,
    /// Called as an instance of a promotable clone of this many instances (one per member):
    /// with the clone's meta attributes in the environment, as pacemaker passes them.
    pub clone_max: Option<usize>,
}

/// A promotable clone's meta attributes as pacemaker 2.1 passes them to an agent (both the
/// promoted_ and the older master_ names).
pub fn promotable_meta(clone_max: usize) -> Vec<String> {
    let n = clone_max.to_string();
    [
        ("clone_max", n.as_str()),
        ("clone_node_max", "1"),
        ("promoted_max", "1"),
        ("promoted_node_max", "1"),
        ("master_max", "1"),
        ("master_node_max", "1"),
        ("notify", "true"),
        ("globally_unique", "false"),
    ]
    .iter()
    .map(|(k, v)| format!("OCF_RESKEY_CRM_meta_{k}={v}"))
    .collect()
}

/// What one call returned: its exit code (None: killed or timed out) and output.
pub struct Call {
    pub action: String,
    pub rc: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Call {
    /// `monitor → 7`, and the output's last lines, for a check's evidence.
    pub fn evidence(&self) -> Vec<String> {
        let rc = self.rc.map(|r| format!("{r} ({})", rc_name(r))).unwrap_or_else(|| "none (timed out)".into());
        let mut v = vec![format!("{} → {rc}", self.action)];
        let out: Vec<&str> = self.stdout.lines().chain(self.stderr.lines()).filter(|l| !l.trim().is_empty()).collect();
        v.extend(out.iter().rev().take(4).rev().map(|l| format!("  | {l}")));
        v
    }
}

/// The OCF exit codes by name (spec 1.1, resource-agents' ocf-returncodes).
pub fn rc_name(rc: i32) -> &'static str {
    match rc {
        0 => "OCF_SUCCESS",
        1 => "OCF_ERR_GENERIC",
        2 => "OCF_ERR_ARGS",
        3 => "OCF_ERR_UNIMPLEMENTED",
        4 => "OCF_ERR_PERM",
        5 => "OCF_ERR_INSTALLED",
        6 => "OCF_ERR_CONFIGURED",
        7 => "OCF_NOT_RUNNING",
        8 => "OCF_RUNNING_PROMOTED",
        9 => "OCF_FAILED_PROMOTED",
        190 => "OCF_DEGRADED",
        191 => "OCF_DEGRADED_PROMOTED",
        _ => "not an OCF code",
    }
}

impl Agent<'_> {
    pub fn path(&self) -> String {
        format!("{OCF_ROOT}/resource.d/{}/{}", super::PROVIDER, self.kind)
    }

    /// Run `action` with the given parameters only (`None`: the agent's own), plus `env`.
    pub fn call_with(&self, action: &str, params: Option<&[(String, String)]>, env: &[(&str, &str)]) -> Call {
        let params = params.unwrap_or(&self.params);
        let mut argv: Vec<String> = vec!["env".into(), "-i".into(), PATH.into(), format!("OCF_ROOT={OCF_ROOT}")];
        argv.push(format!("OCF_RESOURCE_INSTANCE={INSTANCE}"));
        argv.push(format!("OCF_RESOURCE_TYPE={}", self.kind));
        argv.push(format!("OCF_RESOURCE_PROVIDER={}", super::PROVIDER));
        argv.push("OCF_RESKEY_CRM_meta_timeout=20000".into());
        argv.extend(params.iter().map(|(k, v)| format!("OCF_RESKEY_{k}={v}")));
        argv.extend(self.clone_max.map(promotable_meta).unwrap_or_default());
        argv.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        argv.push(self.path());
        argv.push(action.into());
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        match self.node.exec(&refs, None, ACTION_TIMEOUT) {
            Ok(o) => Call {
                action: action.into(),
                rc: o.status.code(),
                stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            },
            Err(e) => Call { action: action.into(), rc: None, stdout: String::new(), stderr: format!("{e:#}") },
        }
    }

    pub fn call(&self, action: &str) -> Call {
        self.call_with(action, None, &[])
    }

    /// A probe: monitor with interval 0, as pacemaker asks when it looks for a resource.
    pub fn probe(&self) -> Call {
        let mut c = self.call_with("monitor", None, &[("OCF_RESKEY_CRM_meta_interval", "0")]);
        c.action = "probe (monitor, interval 0)".into();
        c
    }
}
