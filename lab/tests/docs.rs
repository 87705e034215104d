//! The README is a newcomer's five minutes: the two set-up commands first, at most 200 lines,
//! the rest in docs/, and every relative link of the README and of docs/ leads somewhere.

use std::path::{Path, PathBuf};

fn pages() -> Vec<PathBuf> {
    let mut v = vec![PathBuf::from("../README.md")];
    let mut dirs = vec![PathBuf::from("../docs")];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                v.push(p);
            }
        }
    }
    v
}

/// `[text](target)` targets of a Markdown page, outside code blocks.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn readme_is_short_and_opens_with_the_two_commands() {
    let readme = std::fs::read_to_string("../README.md").unwrap();
    let n = readme.lines().count();
    assert!(n <= 200, "README.md has {n} lines: move the detail to a docs/ page");
    let first_block = readme.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).expect("a sh block");
    let commands: Vec<&str> = first_block.lines().map(|l| l.split_whitespace().next().unwrap_or("")).collect();
    assert_eq!(commands, ["scripts/demo", "scripts/test"], "the README's first commands are the demo and the tests");
}

#[test]
fn every_relative_link_resolves() {
    let mut checked = 0;
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        for l in links(&text) {
            if l.starts_with("http://") || l.starts_with("https://") || l.starts_with('#') || l.starts_with("mailto:") {
                continue;
            }
            let path = l.split('#').next().unwrap();
            let target = page.parent().unwrap_or(Path::new(".")).join(path);
            checked += 1;
            if !target.exists() {
                broken.push(format!("{}: {l}", page.display()));
            }
        }
    }
    assert!(checked >= 20, "only {checked} links found: is the link parser broken?");
    assert!(broken.is_empty(), "links to nothing:\n{}", broken.join("\n"));
}

#[test]
fn every_docs_page_is_linked_from_the_readme() {
    let readme = std::fs::read_to_string("../README.md").unwrap();
    let linked = links(&readme);
    for page in std::fs::read_dir("../docs").unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "md")) {
        let name = format!("docs/{}", page.file_name().unwrap().to_string_lossy());
        assert!(linked.iter().any(|l| l == &name), "{name} is not linked from the README");
    }
}
