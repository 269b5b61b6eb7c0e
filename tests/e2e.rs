//! End-to-end tests through the real `xtask` binary: the smoke-scale grid runs and reports,
//! and a run killed with SIGKILL at random moments resumes to exactly the results of an
//! uninterrupted one.

#![allow(clippy::unwrap_used)]

use std::process::Stdio;
use std::time::Instant;

mod support;
use support::{repo, results, xtask};

#[test]
fn smoke_grid_runs_and_reports() {
    let out = tempfile::tempdir().unwrap();
    let status = xtask()
        .args(["reproduce", "--scale", "smoke", "--out"])
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    let report = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(report.contains("## Findings"));
    // Every run recorded its device; the report says what is reproducible where.
    assert!(report.contains("## Determinism"), "no determinism section");
    assert!(
        report.contains("`Device<Flex(Cpu)>` ("),
        "device not reported"
    );
    assert!(!report.contains("not recorded"), "a run without its device");
    let grid = std::fs::read_dir(repo().join("configs/smoke"))
        .unwrap()
        .count();
    for entry in std::fs::read_dir(repo().join("configs/smoke"))
        .unwrap()
        .flatten()
    {
        let name = entry.path();
        if name.extension().is_some_and(|e| e == "toml") {
            let id = name.file_stem().unwrap().to_string_lossy().to_string();
            for ext in ["png", "svg"] {
                let f = out.path().join("figures").join(format!("{id}.{ext}"));
                assert!(
                    std::fs::metadata(&f)
                        .map(|m| m.len() > 1000)
                        .unwrap_or(false),
                    "{} missing",
                    f.display()
                );
            }
            assert!(report.contains(&format!("(`{id}`)")), "report lacks {id}");
        }
    }
    assert!(grid >= 10);
    let csv = std::fs::read_to_string(out.path().join("results.csv")).unwrap();
    let rows = csv.lines().count() - 1;
    assert_eq!(rows, results(out.path()).len());
    assert!(rows >= 20, "{rows} runs finished");
    // A second invocation finds everything finished and redoes nothing.
    let again = xtask()
        .args(["reproduce", "--scale", "smoke", "--no-report", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.contains("0 finished now"), "{text}");
}

#[test]
fn killed_runs_resume_to_identical_results() {
    let only = "fcn-standard,transfer";
    let clean = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let status = xtask()
        .args([
            "reproduce",
            "--scale",
            "smoke",
            "--no-report",
            "--only",
            only,
            "--out",
        ])
        .arg(clean.path())
        .status()
        .unwrap();
    assert!(status.success());
    let whole = started.elapsed();
    let want = results(clean.path());
    assert!(!want.is_empty());

    let killed = tempfile::tempdir().unwrap();
    // Kill at moments spread over the run (fixed fractions of the uninterrupted run's time, so
    // the test adapts to the machine's speed), until a run finishes before its kill. After each
    // kill, whatever reads as finished must be complete and equal to the uninterrupted run's.
    let fractions = [
        0.3, 0.45, 0.2, 0.35, 0.25, 0.4, 0.3, 0.5, 0.35, 0.45, 0.6, 0.8,
    ];
    let mut live_kills = 0;
    for f in fractions {
        let mut child = xtask()
            .args([
                "reproduce",
                "--scale",
                "smoke",
                "--no-report",
                "--only",
                only,
                "--out",
            ])
            .arg(killed.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(whole.mul_f64(f));
        let running = child.try_wait().unwrap().is_none();
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        for (name, v) in results(killed.path()) {
            let w = want
                .iter()
                .find(|(n, _)| n == &name)
                .map(|(_, v)| v)
                .unwrap();
            assert_eq!(&v, w, "{name} differs after a kill");
        }
        if !running {
            break;
        }
        live_kills += 1;
    }
    eprintln!("{live_kills} kills hit a running reproduce (uninterrupted run: {whole:?})");
    assert!(
        live_kills >= 3,
        "only {live_kills} kills hit a running reproduce (uninterrupted run: {whole:?})"
    );
    let status = xtask()
        .args([
            "reproduce",
            "--scale",
            "smoke",
            "--no-report",
            "--only",
            only,
            "--out",
        ])
        .arg(killed.path())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(results(killed.path()), want);
}

/// Runs trained several at once (each single-threaded) give the same numbers as runs trained
/// one at a time with every core: kernels fix their reduction order whatever the thread count.
/// The CNN covers convolutions, the FCNs matrix products and the attacks, `motivating` the
/// nuclear norm's SVDs and `transfer` the frozen-encoder stage.
#[test]
fn jobs_do_not_change_results() {
    let only = "cnn-standard,fcn-standard,motivating,transfer";
    let mut got = Vec::new();
    for jobs in ["1", "3"] {
        let out = tempfile::tempdir().unwrap();
        let status = xtask()
            .args(["reproduce", "--scale", "smoke", "--no-report"])
            .args(["--only", only, "--jobs", jobs, "--out"])
            .arg(out.path())
            .status()
            .unwrap();
        assert!(status.success());
        got.push(results(out.path()));
    }
    assert!(got[0].len() >= 20, "{} runs", got[0].len());
    assert_eq!(got[0], got[1]);
}
