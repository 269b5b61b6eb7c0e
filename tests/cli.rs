//! The single-model commands through the real `xtask` binary: `analyze` against numpy on a
//! committed model (tests/fixtures/analyze), `prune` round trips, and bad input that must end
//! in a clear error and a non-zero exit, never a panic.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/analyze").join(name)
}

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(repo())
        .env("CR_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `reproduce` planning the smoke grid as JSON, without running it; the output folder follows.
const SMOKE_DRY_RUN: [&str; 6] = [
    "reproduce",
    "--scale",
    "smoke",
    "--dry-run",
    "--json",
    "--out",
];

fn close(a: f64, b: f64) -> bool {
    // The weights are f32 read exactly into f64 on both sides; the rest is f64 arithmetic.
    (a - b).abs() <= 1e-9 * (1.0 + b.abs())
}

#[test]
fn analyze_matches_numpy() {
    let model = fixture("model.safetensors");
    let out = xtask(&[
        "analyze",
        "--model",
        model.to_str().unwrap(),
        "--k",
        "2",
        "--estimator",
        "exact",
        "--json",
    ]);
    let got = json(&out);
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("analyze.json")).unwrap()).unwrap();
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    let layers = got["bounds"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    for (g, w) in layers.iter().zip(want["layers"].as_array().unwrap()) {
        assert_eq!(g["name"], w["name"]);
        assert_eq!(g["shape"], w["shape"]);
        for (gk, wk) in [
            (&g["norm_inf"], "norm_inf"),
            (&g["norm_2"], "norm_2"),
            (&g["norm_fro"], "norm_fro"),
            (&g["nu"]["eps"], "nu_eps"),
            (&g["nu"]["beta"], "nu_beta"),
            (&g["sigma"]["eps"], "sigma_eps"),
            (&g["sigma"]["beta"], "sigma_beta"),
            (&g["theorem_3_1_linf"]["bound"], "linf"),
            (&g["theorem_3_1_l2"]["bound"], "l2"),
        ] {
            assert!(
                close(f(gk), f(&w[wk])),
                "{} {wk}: {gk} vs {}",
                w["name"],
                w[wk]
            );
        }
    }
    for norm in ["linf", "l2"] {
        let (g, w) = (&got["bounds"][norm], &want["network"][norm]);
        for key in ["theorem_3_2", "product_theorem_3_1", "product_true_norms"] {
            assert!(close(f(&g[key]), f(&w[key])), "{norm} {key}");
        }
        // The exact estimator makes the network bound certified.
        assert_eq!(g["certified"], true);
    }
}

#[test]
fn prune_writes_a_smaller_model_that_analyze_reads() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("pruned.safetensors");
    let model = fixture("model.safetensors");
    let r = json(&xtask(&[
        "prune",
        "--model",
        model.to_str().unwrap(),
        "--method",
        "layerwise",
        "--ratio",
        "0.5",
        "--out",
        out_file.to_str().unwrap(),
        "--eval",
        "--data",
        "uci-digits",
        "--n",
        "200",
        "--json",
    ]));
    assert_eq!(r["form"], "physical");
    for l in r["report"]["layers"].as_array().unwrap() {
        assert_eq!((l["rows"].as_u64(), l["kept"].as_u64()), (Some(6), Some(3)));
    }
    // 64·6 + 6·6 + 6·10 = 480 parameters before; 64·3 + 3·3 + 3·10 = 231 after.
    assert_eq!(r["report"]["params_before"], 480);
    assert_eq!(r["report"]["params_after"], 231);
    let saved = r["saved"].as_array().unwrap();
    assert!(saved[1].as_u64().unwrap() < saved[2].as_u64().unwrap());
    assert!(r["after"]["clean_accuracy"].as_f64().unwrap() >= 0.0);
    let a = json(&xtask(&[
        "analyze",
        "--model",
        out_file.to_str().unwrap(),
        "--json",
    ]));
    let shapes: Vec<_> = a["bounds"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["shape"].clone())
        .collect();
    assert_eq!(
        shapes,
        [
            serde_json::json!([3, 64]),
            serde_json::json!([3, 3]),
            serde_json::json!([10, 3])
        ]
    );
}

/// Runs `args`, expects a clean failure whose message contains every one of `needles`.
fn fails_with(args: &[&str], needles: &[&str]) {
    let out = xtask(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: `{n}` not in: {err}");
    }
}

#[test]
fn bad_input_gives_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture("model.safetensors");
    let m = model.to_str().unwrap();
    let corrupt = dir.path().join("corrupt.safetensors");
    std::fs::write(
        &corrupt,
        b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all",
    )
    .unwrap();
    let c = corrupt.to_str().unwrap();
    let missing = dir.path().join("missing.safetensors");
    fails_with(&["analyze", "--model", c], &["corrupt.safetensors"]);
    fails_with(
        &["analyze", "--model", missing.to_str().unwrap()],
        &["missing.safetensors"],
    );
    fails_with(
        &["analyze", "--model", m, "--estimator", "magic"],
        &["--estimator", "magic"],
    );
    fails_with(&["analyze", "--model", m, "--k", "0"], &["--k"]);
    fails_with(
        &["analyze", "--model", m, "--estimator", "data-driven"],
        &["--data"],
    );
    fails_with(
        &["analyze", "--model", m, "--data", "no-such-set"],
        &["no-such-set"],
    );
    fails_with(
        &["prune", "--model", m, "--method", "shave", "--ratio", "0.5"],
        &["shave", "layerwise"],
    );
    fails_with(
        &[
            "prune",
            "--model",
            m,
            "--method",
            "layerwise",
            "--ratio",
            "1.5",
        ],
        &["ratio"],
    );
    fails_with(
        &["prune", "--model", m, "--method", "lowrank", "--rank", "0"],
        &["rank"],
    );
    fails_with(
        &[
            "prune", "--model", c, "--method", "global", "--ratio", "0.3",
        ],
        &["corrupt.safetensors"],
    );
    // The model takes 8x8 digits; MNIST is 28x28.
    fails_with(
        &[
            "prune", "--model", m, "--method", "global", "--ratio", "0.3", "--eval", "--data",
            "mnist",
        ],
        &["28"],
    );
}

#[test]
fn prune_covers_every_architecture() {
    // Every method on every architecture's committed fixture (written by PyTorch, see
    // crates/cr-models/python); low rank on the ViT falls back to the masked form, with a note.
    let dir = tempfile::tempdir().unwrap();
    let fixtures = repo().join("crates/cr-models/tests/fixtures");
    for arch in [
        "fcn",
        "cnn",
        "resnet",
        "resnet_bottleneck",
        "vgg",
        "wrn",
        "vit",
    ] {
        let model = fixtures.join(format!("{arch}.safetensors"));
        for method in [
            &["layerwise", "--ratio", "0.5"][..],
            &["global", "--ratio", "0.5"],
            &["eps-target", "--ratio", "0.5"],
            &["unstructured", "--ratio", "0.5"],
            &["lowrank", "--rank", "2"],
        ] {
            let out = dir.path().join(format!("{arch}-{}.safetensors", method[0]));
            let mut args = vec![
                "prune",
                "--model",
                model.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--json",
                "--method",
            ];
            args.extend_from_slice(method);
            let r = json(&xtask(&args));
            let achieved = r["report"]["achieved"].as_f64().unwrap();
            assert!(achieved > 0.0, "{arch} {method:?}: nothing pruned");
            let notes = r["notes"].as_array().unwrap();
            assert_eq!(
                notes.is_empty(),
                !(arch == "vit" && method[0] == "lowrank"),
                "{arch} {method:?}: {notes:?}"
            );
            // The written model loads and analyses.
            json(&xtask(&[
                "analyze",
                "--model",
                out.to_str().unwrap(),
                "--json",
            ]));
        }
    }
}

/// `reproduce --dry-run --json` lists exactly the runs of the grid (experiments × sweep values
/// × seeds, counted here from the TOML files themselves), each with its resolved config and a
/// positive cost, and runs nothing.
#[test]
fn dry_run_json_lists_every_run() {
    let out = tempfile::tempdir().unwrap();
    let mut args = SMOKE_DRY_RUN.to_vec();
    args.push(out.path().to_str().unwrap());
    let v = json(&xtask(&args));
    let mut want = 0usize;
    for e in std::fs::read_dir(repo().join("configs/smoke"))
        .unwrap()
        .flatten()
    {
        let text = std::fs::read_to_string(e.path()).unwrap();
        let t: toml::Value = toml::from_str(&text).unwrap();
        let seeds = t.get("seeds").and_then(|s| s.as_integer()).unwrap_or(1) as usize;
        let points: usize = t["sweep"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["values"].as_array().unwrap().len())
            .sum();
        want += seeds * points;
    }
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), want);
    assert_eq!(v["scale"], "smoke");
    for r in runs {
        assert!(r["cost"]["train"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["config"]["model"].is_object(), "{r}");
        assert_eq!(r["hash"].as_str().unwrap().len(), 16);
    }
    assert!(v["total_flops"].as_f64().unwrap() > 0.0);
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "a dry run wrote results"
    );
}

#[test]
fn log_lines_to_a_pipe_carry_no_colour_escapes() {
    // stderr is a pipe here, so the info lines of a (tiny) training must be plain text.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tiny.toml");
    std::fs::write(
        &config,
        "[data]\nname = \"uci-digits\"\n\n[model]\ninput = [1, 8, 8]\nnum_classes = 10\n\n\
         [model.arch]\nkind = \"fcn\"\nwidth = 4\ndepth = 1\n\n[train]\nepochs = 1\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(repo())
        .env("CR_LOG", "info")
        .env_remove("NO_COLOR")
        .args(["train", "--config", config.to_str().unwrap()])
        .args(["--out", dir.path().join("run").to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("epoch 1/1"),
        "expected the epoch's log line: {err:?}"
    );
    assert!(
        !err.contains('\u{1b}'),
        "ANSI escape in piped log output: {err:?}"
    );
}

/// The allocator is told to keep freed memory, unless the caller tuned glibc's allocator
/// through its own variables (then their choice stands).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_allocator_keeps_freed_memory_unless_the_caller_tuned_it() {
    let out = tempfile::tempdir().unwrap();
    let run = |tuned: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
        cmd.current_dir(repo()).env("CR_LOG", "debug");
        for (v, _) in std::env::vars_os() {
            let name = v.to_string_lossy();
            if name.starts_with("MALLOC_") || name == "GLIBC_TUNABLES" {
                cmd.env_remove(&v);
            }
        }
        if tuned {
            cmd.env("MALLOC_ARENA_MAX", "4");
        }
        let dir = out.path().join(if tuned { "tuned" } else { "plain" });
        let o = cmd.args(SMOKE_DRY_RUN).arg(dir).output().unwrap();
        assert!(o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let (plain, tuned) = (run(false), run(true));
    assert!(plain.contains("kept=true"), "{plain}");
    assert!(tuned.contains("kept=false"), "{tuned}");
}
