//! Every figure the README quotes comes from a shipped report: each `<!-- figures: FOLDER -->`
//! block is what that folder's raw runs give today (`figures.md`, written by `halab report`).
//! Break one number in the README and this fails.

use std::path::Path;

#[test]
fn the_readmes_figures_are_the_shipped_reports() {
    let readme = std::fs::read_to_string("../README.md").unwrap();
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
            quoted, now,
            "README.md quotes {folder} differently from its runs: paste {folder}/figures.md (after `halab report {folder}/runs -o {folder}`)"
        );
        blocks += 1;
    }
    assert!(blocks >= 2, "the README's headline quotes the study and the tuning study: {blocks} block(s)");
}
