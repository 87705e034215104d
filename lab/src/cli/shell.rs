//! Shell completions (clap_complete) and man pages (clap_mangen), both from the same clap
//! definition the command line parses, so a new verb or flag reaches them by itself. Bash
//! also completes lab names (from `halab ls --quiet`) where a verb takes a lab.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use super::args::Cli;

/// Verbs whose first argument is a lab name (`lab` or `labs` in their definition).
pub fn lab_verbs() -> Vec<String> {
    let cmd = Cli::command();
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set())
        .filter(|s| s.get_positionals().next().is_some_and(|a| matches!(a.get_id().as_str(), "lab" | "labs")))
        .map(|s| s.get_name().to_string())
        .collect()
}

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> String {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "halab", &mut out);
    let mut s = String::from_utf8_lossy(&out).into_owned();
    if shell == Shell::Bash {
        s.push_str(&bash_labs());
    }
    s
}

/// clap's bash function, wrapped: in the first argument of a verb that takes a lab, the
/// names of the labs that exist are offered too.
fn bash_labs() -> String {
    format!(
        r#"
# halab: lab names where a verb takes a lab (its first argument).
_halab_labs() {{
    _halab "$@"
    local verb="${{COMP_WORDS[1]}}" cur="${{COMP_WORDS[COMP_CWORD]}}"
    if [[ ${{COMP_CWORD}} -ge 2 && "${{cur}}" != -* ]]; then
        case "${{verb}}" in
            {verbs})
                if [[ ${{COMP_CWORD}} -eq 2 || "${{verb}}" == gc ]]; then
                    COMPREPLY+=( $(compgen -W "$(halab ls --quiet 2>/dev/null)" -- "${{cur}}") )
                fi
                ;;
        esac
    fi
}}
complete -F _halab_labs -o nosort -o bashdefault -o default halab
"#,
        verbs = lab_verbs().join("|")
    )
}

/// Man pages: `halab.1` and `halab-VERB.1` for every verb (and `halab-image-build.1`...).
pub fn man_pages(dir: &Path) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    let mut cmd = Cli::command();
    cmd.build();
    page(&cmd, "halab", dir, &mut written)?;
    Ok(written)
}

fn page(cmd: &clap::Command, name: &str, dir: &Path, written: &mut Vec<String>) -> Result<()> {
    let file = format!("{name}.1");
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone().name(name.to_string())).render(&mut buf)?;
    std::fs::write(dir.join(&file), buf).with_context(|| format!("cannot write {}", dir.join(&file).display()))?;
    written.push(file);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        page(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
