//! Every figure the README and docs/ quote comes from a shipped report: each
//! `<!-- figures: FOLDER -->` block is what that folder's raw runs give today (`figures.md`,
//! written by `halab report`). Break one number in a page and this fails.

use std::path::Path;

#[test]
fn the_readmes_figures_are_the_shipped_reports() {
    let mut pages = vec![Path::new("../README.md").to_path_buf()];
    pages.extend(std::fs::read_dir("../docs").unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "md")));
    let mut in_readme = 0;
    for page in &pages {
        let blocks = check_blocks(page);
        if page.ends_with("README.md") {
            in_readme = blocks;
        }
    }
    assert!(in_readme >= 2, "the README's headline quotes the study and the tuning study: {in_readme} block(s)");
}

/// Check every figures block of one page; returns how many it has.
fn check_blocks(page: &Path) -> usize {
    let readme = std::fs::read_to_string(page).unwrap();
    let mut blocks = 0;
    for part in readme.split("<!-- figures: ").skip(1) {
        let folder = part.split_whitespace().next().unwrap();
        let end = part.find("<!-- /figures -->").expect("a figures block ends with <!-- /figures -->");
        let quoted = format!("<!-- figures: {}<!-- /figures -->\n", &part[..end]);
        let runs = Path::new("..").join(folder).join("runs");
        let a = halab::report::analyse(halab::report::load_runs(&[runs]).unwrap());
        let s = a.study.as_ref().unwrap_or_else(|| panic!("{folder} is not a study's report"));
        let now = halab::report::study_render::figures(s, folder);
        assert_eq!(
            quoted,
            now,
            "{} quotes {folder} differently from its runs: paste {folder}/figures.md (after `halab report {folder}/runs -o {folder}`)",
            page.display()
        );
        blocks += 1;
    }
    blocks
}
