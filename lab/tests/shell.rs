//! Shell completions and man pages: bash completes a verb and, in a verb that takes a lab, the
//! name of a lab that is up; zsh and fish get scripts naming every verb; every verb has a man
//! page that `man` renders.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{halab, ok, privileged, HALAB};

/// Every verb `halab --help` lists (what a user can type), less clap's `help`.
fn verbs() -> Vec<String> {
    let help = ok(&["--help"]);
    let list = help.split("Commands:").nth(1).unwrap().split("Options:").next().unwrap();
    list.lines().filter_map(|l| l.split_whitespace().next()).filter(|v| *v != "help").map(str::to_string).collect()
}

/// Run bash's completion of `words` (the last one being completed) with halab's script.
fn complete(script: &Path, words: &[&str]) -> Vec<String> {
    let bin = Path::new(HALAB).parent().unwrap();
    let line = format!(
        "source {}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; _halab_labs halab \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
        words.len() - 1
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash").args(["--norc", "-c", &line]).env("PATH", path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

fn script(shell: &str) -> PathBuf {
    let f = std::env::temp_dir().join(format!("halab-{}.{shell}", std::process::id()));
    std::fs::write(&f, ok(&["completions", shell])).unwrap();
    f
}

#[test]
fn bash_completes_verbs_and_lab_names() {
    if !privileged() {
        return;
    }
    let bash = script("bash");
    let got = complete(&bash, &["halab", "sta"]);
    assert!(got.contains(&"status".to_string()), "{got:?}");
    let got = complete(&bash, &["halab", "up", "--pro"]);
    assert!(got.contains(&"--provider".to_string()), "{got:?}");
    // A lab that is up is offered where a verb takes a lab, and only there.
    let lab = "t-complete";
    let topo = concat!(env!("CARGO_MANIFEST_DIR"), "/../topologies/fw-pair.yaml");
    ok(&["up", topo, "--name", lab, "--stack", "none"]);
    let down = complete(&bash, &["halab", "down", "t-comp"]);
    let status = complete(&bash, &["halab", "status", ""]);
    let up = complete(&bash, &["halab", "validate", "t-comp"]);
    ok(&["down", lab]);
    assert_eq!(down, vec![lab.to_string()], "down offers the lab");
    assert!(status.contains(&lab.to_string()), "status offers the lab: {status:?}");
    assert!(!up.contains(&lab.to_string()), "validate takes a file, not a lab: {up:?}");
    std::fs::remove_file(bash).unwrap();
}

#[test]
fn zsh_and_fish_scripts_name_every_verb() {
    let verbs = verbs();
    assert!(verbs.len() >= 25, "{verbs:?}");
    for shell in ["zsh", "fish"] {
        let f = script(shell);
        let text = std::fs::read_to_string(&f).unwrap();
        for v in &verbs {
            assert!(text.contains(v.as_str()), "{shell}: `{v}` missing");
        }
        std::fs::remove_file(f).unwrap();
    }
    let bad = halab(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2), "an unknown shell is a usage error");
}

#[test]
fn every_verb_has_a_man_page() {
    let dir = std::env::temp_dir().join(format!("halab-man-{}", std::process::id()));
    let said = ok(&["man", dir.to_str().unwrap()]);
    assert!(said.contains("man pages in"), "{said}");
    for v in verbs().iter().map(|v| format!("halab-{v}")).chain(["halab".to_string(), "halab-image-build".into(), "halab-agent-test".into()]) {
        let page = dir.join(format!("{v}.1"));
        assert!(page.is_file(), "no man page {}", page.display());
        let out = Command::new("man").args(["-P", "cat", "-l"]).arg(&page).env("MANWIDTH", "100").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("NAME") && text.contains("SYNOPSIS"), "{v}: man did not render it:\n{text}");
    }
    let up = String::from_utf8_lossy(&Command::new("man").args(["-P", "cat", "-l"]).arg(dir.join("halab-up.1")).output().unwrap().stdout).into_owned();
    assert!(up.contains("--provider") && up.contains("netns"), "halab up's page lacks its options:\n{up}");
    std::fs::remove_dir_all(&dir).unwrap();
}
