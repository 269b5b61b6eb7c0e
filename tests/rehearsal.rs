//! The cheapest part of the paper grid's rehearsal, in its own test binary: it trains
//! real-size ResNets for a minute, and beside the timing-sensitive kill-and-resume test of
//! `e2e.rs` it would change that test's measure of the machine's speed.

#![allow(clippy::unwrap_used)]

use std::process::Stdio;

mod support;
use support::{results, xtask};

/// The cheapest part of the paper grid's rehearsal (README: the whole of it is one command):
/// stand-in data sets in the official formats from `data --synthesize`, then the SVHN row and
/// the CIFAR-100 → CIFAR-10 transfer at `--scale rehearsal` (ResNet18 at its real size, ART-mode
/// APGD, one seed) through training, attacks, transfer and the report, with no failed run.
#[test]
fn rehearsal_of_the_paper_grid_svhn_and_transfer() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let status = xtask()
        .args(["data", "--synthesize"])
        .arg(data.path())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let o = xtask()
        .args([
            "reproduce",
            "--scale",
            "rehearsal",
            "--only",
            "cnn-svhn,transfer",
            "--seeds",
            "1",
        ])
        .arg("--data-dir")
        .arg(data.path())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("4 runs: 4 finished now, 0 already done, 0 failed"),
        "{stdout}"
    );
    let rows = results(out.path());
    assert_eq!(rows.len(), 4);
    for (path, v) in &rows {
        // The transfer is evaluated on CIFAR-10 (10 classes) after pretraining on CIFAR-100.
        let ra = v["eval"]["robust_accuracy"].as_f64();
        assert!(
            ra.is_some_and(|r| (0.0..=1.0).contains(&r)),
            "{path}: {ra:?}"
        );
    }
    let report = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(report.contains("(`cnn-svhn`)") && report.contains("(`transfer`)"));
}
