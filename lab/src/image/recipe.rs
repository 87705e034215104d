//! Image recipes (images/*.yaml) and their content hash, the cache key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diag::InputError;

#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    pub suite: String,
    #[serde(default = "default_variant")]
    pub variant: String,
    /// sources.list lines handed to mmdebstrap.
    pub mirrors: Vec<String>,
    pub packages: Vec<String>,
    /// systemd units disabled in the image (only VMs run systemd).
    #[serde(default)]
    pub disable_services: Vec<String>,
    /// systemd units enabled (after `files` are written, so a unit of the recipe can be one).
    #[serde(default)]
    pub enable_services: Vec<String>,
    /// systemd units masked: never started in a VM.
    #[serde(default)]
    pub mask_services: Vec<String>,
    /// Shell commands run in the image (chroot) last, after `files` and units.
    #[serde(default)]
    pub commands: Vec<String>,
    /// Extra files written into the image: absolute path -> content.
    #[serde(default)]
    pub files: std::collections::BTreeMap<String, String>,
}

fn default_variant() -> String {
    "minbase".into()
}

/// Bump when the way halab turns a recipe into a rootfs changes.
const BUILDER_VERSION: &str = "halab-image-1";

impl Recipe {
    pub fn load(path: &Path) -> Result<Recipe, InputError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            InputError::one(crate::diag::Diagnostic::whole_file(path, "", &format!("cannot read the image recipe: {e}"), "see images/ for the shipped recipes"))
        })?;
        crate::yaml::parse(path, &text)
    }

    /// Content hash of the recipe as parsed (comments and layout do not count).
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mut h = Sha256::new();
        h.update(BUILDER_VERSION.as_bytes());
        h.update(&json);
        h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

/// Where a recipe named `name` lives: a path as given, else `images/<name>.yaml` next to the
/// topology, in the working directory, or in the installed share dir.
pub fn find(name: &str, near: Option<&Path>) -> Option<PathBuf> {
    let direct = PathBuf::from(name);
    if direct.extension().is_some() && direct.is_file() {
        return Some(direct);
    }
    let file = format!("{name}.yaml");
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(p) = near.and_then(Path::parent) {
        dirs.push(p.join("../images"));
        dirs.push(p.join("images"));
    }
    dirs.push(PathBuf::from("images"));
    if let Ok(exe) = std::env::current_exe() {
        // target/{debug,release}/halab -> repo root/images
        if let Some(root) = exe.ancestors().nth(3) {
            dirs.push(root.join("images"));
        }
    }
    // Installed: the .deb's share dir (scripts/package), or a local install's.
    dirs.push(PathBuf::from("/usr/share/halab/images"));
    dirs.push(PathBuf::from("/usr/local/share/halab/images"));
    dirs.into_iter().map(|d| d.join(&file)).find(|p| p.is_file())
}
