//! Golden test: a tiny committed results folder (made by `fixtures/golden/make.py`, each
//! claim's verdict known by construction) gives these verdicts and exactly the committed
//! findings table. Set `CR_UPDATE_GOLDEN=1` to rewrite the table after an intended change,
//! and read the diff.

use std::path::PathBuf;

use cr_report::claims::ExperimentInfo;
use cr_report::judge::{Settings, Verdict};
use cr_report::report::{
    adjust_holm, findings_table, judge_experiment, load_results, summary_line,
};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden")
}

#[test]
fn the_golden_folder_gives_the_known_verdicts_and_the_exact_table() {
    let exp = ExperimentInfo::from_toml_file(&dir().join("demo.toml")).unwrap();
    let results = load_results(&dir().join("results")).unwrap();
    assert_eq!(results.len(), 24);
    let mut findings = judge_experiment(&exp, &results, &Settings::default());
    adjust_holm(&mut findings, 0.95);
    let verdicts: Vec<(&str, Verdict)> = findings
        .iter()
        .map(|f| (f.claim.as_str(), f.judgement.verdict))
        .collect();
    assert_eq!(
        verdicts,
        vec![
            ("ra-falls", Verdict::Supported),
            ("change-rises", Verdict::Contradicted),
            ("ratio-falls", Verdict::Inconclusive),
            ("erank-falls", Verdict::Contradicted),
            ("fooling-rises", Verdict::Inconclusive),
            ("ra-vs-rank", Verdict::Supported),
            ("gap-higher", Verdict::Supported),
            ("ra-vs-erank", Verdict::Contradicted),
            ("ra-late", Verdict::Supported),
        ]
    );
    // The inverted U keeps its trend verdict; the peak is a finding beside it.
    let peak = findings[1].judgement.shape.as_ref().unwrap();
    assert_eq!((peak.kind, peak.at.as_str()), ("peak", "0.01"));
    assert!(
        findings
            .iter()
            .enumerate()
            .all(|(i, f)| (i == 1) == f.judgement.shape.is_some())
    );
    assert!(findings[4].judgement.reason.contains("no finished run"));
    // The rank-2 model did not train: excluded and named; the "none" point reads its
    // strength (64) from the results; two points left: a Welch test.
    let j = &findings[5].judgement;
    assert_eq!(j.excluded, vec!["2 (3 of 3 seeds)".to_string()]);
    assert_eq!(j.points, 2);
    assert!(!j.df.unwrap().1);
    // The regime keeps the points at 0.01, 0.1 and 1.0.
    assert_eq!(findings[8].judgement.points, 3);
    // Holm over the 8 claims with a p-value (the missing quantity has none).
    assert_eq!(
        findings
            .iter()
            .filter(|f| f.judgement.p_adjusted.is_some())
            .count(),
        8
    );

    let table = format!(
        "{}\n\n{}",
        summary_line(&findings),
        findings_table(&findings)
    );
    let golden = dir().join("findings.md");
    if std::env::var_os("CR_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &table).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(
        table,
        want,
        "findings table changed; see {}",
        golden.display()
    );
}

#[test]
fn a_malformed_result_file_is_an_error_naming_it() {
    let tmp = std::env::temp_dir().join(format!("cr-golden-bad-{}", std::process::id()));
    let run = tmp.join("demo/run-1");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("result.json"), "{ not json").unwrap();
    let e = load_results(&tmp).unwrap_err().to_string();
    assert!(e.contains("run-1/result.json"), "{e}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
