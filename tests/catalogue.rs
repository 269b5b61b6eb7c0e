//! A catalogue of bad inputs driven through the real `xtask` binary. Each case states the
//! input, that the exit code is non-zero, and phrases the message must contain (the file or
//! field, and the problem); none may panic. Also: the same config and seed train to
//! bit-identical files on CPU.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tiny_model() -> PathBuf {
    repo().join("tests/fixtures/analyze/model.safetensors")
}

/// Exit code of a command that failed on its input (the error is printed, `ExitCode::FAILURE`).
const FAIL: i32 = 1;
/// Exit code of a command line clap refused (usage error).
const USAGE: i32 = 2;

/// Runs xtask with `args`; returns (success, stdout + stderr).
fn xtask(args: &[&str]) -> (bool, String) {
    let (code, text) = xtask_code(args);
    (code == Some(0), text)
}

/// Runs xtask with `args`; returns (exit code, stdout + stderr).
fn xtask_code(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(repo())
        .env("CR_LOG", "warn")
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// One catalogue row: the command must fail with exit code [`FAIL`], without a panic, saying
/// every phrase.
fn case(what: &str, args: &[&str], phrases: &[&str]) {
    case_code(what, args, FAIL, phrases);
}

/// One catalogue row with its expected exit code.
fn case_code(what: &str, args: &[&str], code: i32, phrases: &[&str]) {
    let (got, text) = xtask_code(args);
    assert_eq!(got, Some(code), "{what}: exit code for {args:?}\n{text}");
    assert!(!text.contains("panicked"), "{what}: panic\n{text}");
    for p in phrases {
        assert!(text.contains(p), "{what}: `{p}` missing from\n{text}");
    }
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A copy of the embedded MNIST files in `dir/NAME/`, with `f` applied to the folder.
fn mnist_dir(root: &Path, name: &str, f: impl FnOnce(&Path)) -> String {
    let d = root.join(name);
    std::fs::create_dir_all(&d).unwrap();
    for e in std::fs::read_dir(repo().join("data/mnist"))
        .unwrap()
        .flatten()
    {
        if e.path().extension().is_some_and(|x| x == "gz") {
            std::fs::copy(e.path(), d.join(e.file_name())).unwrap();
        }
    }
    f(&d);
    format!("mnist:{}", d.display())
}

/// Replaces `NAME.gz` in `d` by the plain file `NAME` with `edit` applied to its bytes.
fn replace_plain(d: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) {
    let gz = d.join(format!("{name}.gz"));
    let mut bytes = gunzip(&gz);
    std::fs::remove_file(&gz).unwrap();
    edit(&mut bytes);
    std::fs::write(d.join(name), bytes).unwrap();
}

#[test]
fn bad_data_files() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    let missing = mnist_dir(r, "missing", |d| {
        std::fs::remove_file(d.join("train-labels-idx1-ubyte.gz")).unwrap();
    });
    case(
        "missing file",
        &["data", "--data", &missing],
        &["train-labels-idx1-ubyte", "not found"],
    );
    let empty = mnist_dir(r, "empty", |d| {
        std::fs::write(d.join("train-images-idx3-ubyte.gz"), b"").unwrap();
    });
    case(
        "empty file",
        &["data", "--data", &empty],
        &["train-images-idx3-ubyte.gz", "not a gzip file"],
    );
    let truncated = mnist_dir(r, "truncated", |d| {
        replace_plain(d, "t10k-images-idx3-ubyte", |b| b.truncate(5000));
    });
    case(
        "truncated file",
        &["data", "--data", &truncated],
        &["t10k-images-idx3-ubyte", "truncated"],
    );
    let magic = mnist_dir(r, "magic", |d| {
        replace_plain(d, "t10k-labels-idx1-ubyte", |b| b[2] = 0x0c);
    });
    case(
        "wrong magic",
        &["data", "--data", &magic],
        &["t10k-labels-idx1-ubyte", "wrong magic number"],
    );
    let oversized = mnist_dir(r, "oversized", |d| {
        replace_plain(d, "t10k-images-idx3-ubyte", |b| {
            b[4..8].copy_from_slice(&0x7fff_ffffu32.to_be_bytes())
        });
    });
    case(
        "oversized header",
        &["data", "--data", &oversized],
        &["t10k-images-idx3-ubyte", "2147483647 images", "truncated"],
    );
    let label = mnist_dir(r, "label", |d| {
        replace_plain(d, "t10k-labels-idx1-ubyte", |b| b[8 + 5] = 42);
    });
    case(
        "label out of range",
        &["data", "--data", &label],
        &[
            "t10k-labels-idx1-ubyte",
            "label 42 of sample 5 is outside 0..10",
        ],
    );
    case(
        "not a directory",
        &["data", "--data", "mnist:/no/such/dir"],
        &["/no/such/dir"],
    );
}

/// The tiny model's tensors and header, to rewrite.
struct Safetensors {
    meta: serde_json::Value,
    tensors: BTreeMap<String, (String, Vec<usize>, Vec<u8>)>,
}

fn read_model() -> Safetensors {
    read_safetensors(&tiny_model())
}

fn read_safetensors(path: &Path) -> Safetensors {
    let b = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    let h: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
    let data = &b[8 + n..];
    let mut tensors = BTreeMap::new();
    let mut meta = serde_json::Value::Null;
    for (k, v) in h.as_object().unwrap() {
        if k == "__metadata__" {
            meta = v.clone();
            continue;
        }
        let off: Vec<usize> = serde_json::from_value(v["data_offsets"].clone()).unwrap();
        let shape: Vec<usize> = serde_json::from_value(v["shape"].clone()).unwrap();
        tensors.insert(
            k.clone(),
            (
                v["dtype"].as_str().unwrap().to_string(),
                shape,
                data[off[0]..off[1]].to_vec(),
            ),
        );
    }
    Safetensors { meta, tensors }
}

fn write_model(s: &Safetensors, path: &Path) {
    let mut h = serde_json::Map::new();
    if !s.meta.is_null() {
        h.insert("__metadata__".into(), s.meta.clone());
    }
    let mut data = Vec::new();
    for (k, (dtype, shape, bytes)) in &s.tensors {
        let start = data.len();
        data.extend_from_slice(bytes);
        h.insert(
            k.clone(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [start, data.len()]}),
        );
    }
    let hb = serde_json::to_vec(&h).unwrap();
    let mut out = (hb.len() as u64).to_le_bytes().to_vec();
    out.extend(hb);
    out.extend(data);
    std::fs::write(path, out).unwrap();
}

fn with_spec(s: &mut Safetensors, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut spec: serde_json::Value =
        serde_json::from_str(s.meta["cr.model"].as_str().unwrap()).unwrap();
    edit(&mut spec);
    s.meta["cr.model"] = serde_json::Value::String(spec.to_string());
}

#[test]
fn bad_model_files() {
    let t = tempfile::tempdir().unwrap();
    let path = |n: &str| t.path().join(format!("{n}.safetensors"));
    let analyze = |p: &Path| {
        vec![
            "analyze".to_string(),
            "--model".into(),
            p.display().to_string(),
        ]
    };
    let run = |what: &str, p: &Path, phrases: &[&str]| {
        let a = analyze(p);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        case(what, &a, phrases);
    };
    // The unmodified file is fine (so every failure below is the edit's).
    let mut s = read_model();
    write_model(&s, &path("ok"));
    assert!(
        xtask(
            &analyze(&path("ok"))
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        )
        .0
    );

    s.tensors.remove("head.weight");
    write_model(&s, &path("missing"));
    run(
        "missing tensor",
        &path("missing"),
        &["missing.safetensors", "head.weight"],
    );

    let mut s = read_model();
    let extra = s.tensors["head.weight"].clone();
    s.tensors.insert("surplus.weight".into(), extra);
    write_model(&s, &path("extra"));
    run(
        "extra tensor",
        &path("extra"),
        &["extra.safetensors", "surplus.weight"],
    );

    let mut s = read_model();
    s.tensors.get_mut("head.weight").unwrap().1 = vec![6, 10];
    write_model(&s, &path("shape"));
    run(
        "mis-shaped tensor",
        &path("shape"),
        &["shape.safetensors", "head.weight", "[6, 10]", "[10, 6]"],
    );

    let mut s = read_model();
    s.tensors.get_mut("head.weight").unwrap().0 = "I32".into();
    write_model(&s, &path("dtype"));
    run(
        "wrong dtype",
        &path("dtype"),
        &["dtype.safetensors", "head.weight", "I32"],
    );

    let mut s = read_model();
    let (_, shape, bytes) = s.tensors["head.weight"].clone();
    let wide: Vec<u8> = bytes
        .chunks(4)
        .flat_map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap())).to_le_bytes())
        .collect();
    s.tensors
        .insert("head.weight".into(), ("F64".into(), shape, wide));
    write_model(&s, &path("f64"));
    run(
        "f64 tensor",
        &path("f64"),
        &["f64.safetensors", "head.weight", "F64"],
    );

    let mut s = read_model();
    with_spec(&mut s, |v| v["arch"]["kind"] = "transformer-xl".into());
    write_model(&s, &path("arch"));
    run(
        "unknown architecture",
        &path("arch"),
        &["arch.safetensors", "cr.model", "transformer-xl"],
    );

    // Absurd sizes fail on the spec, before anything is allocated.
    let mut s = read_model();
    with_spec(&mut s, |v| {
        v["arch"]["width"] = serde_json::json!(1_000_000_000_000u64)
    });
    write_model(&s, &path("absurd"));
    run(
        "absurd width",
        &path("absurd"),
        &["absurd.safetensors", "arch.width"],
    );

    let mut s = read_model();
    s.meta.as_object_mut().unwrap().remove("cr.model");
    write_model(&s, &path("nospec"));
    run(
        "no cr.model metadata",
        &path("nospec"),
        &["nospec.safetensors", "cr.model"],
    );

    let mut huge = (1u64 << 60).to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    std::fs::write(path("huge"), huge).unwrap();
    run(
        "oversized header",
        &path("huge"),
        &["huge.safetensors", "header"],
    );

    let b = std::fs::read(tiny_model()).unwrap();
    std::fs::write(path("cut"), &b[..b.len() - 100]).unwrap();
    run("truncated model", &path("cut"), &["cut.safetensors"]);
    std::fs::write(path("empty"), b"").unwrap();
    run("empty model", &path("empty"), &["empty.safetensors"]);
}

const TINY: &str = "[data]\nname = \"uci-digits\"\n\n[model]\ninput = [1, 8, 8]\nnum_classes = 10\n\n[model.arch]\nkind = \"fcn\"\nwidth = 4\ndepth = 1\n\n[train]\nepochs = 1\n";

#[test]
fn bad_configs_and_arguments() {
    let t = tempfile::tempdir().unwrap();
    let cfg = |name: &str, text: &str| {
        let p = t.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let out = t.path().join("out").display().to_string();
    let train =
        |c: &str, phrases: &[&str]| case(c, &["train", "--config", c, "--out", &out], phrases);
    train(
        &cfg(
            "unknown.toml",
            &TINY.replace("name = \"uci-digits\"", "name = \"uci-digits\"\nbogus = 1"),
        ),
        &["unknown.toml", "unknown field `bogus`"],
    );
    train(
        &cfg(
            "nan.toml",
            &format!("{TINY}\n[train.optimizer]\nkind = \"adamw\"\nlr = nan\n"),
        ),
        &["nan.toml", "optimizer.lr", "NaN"],
    );
    train(
        &cfg(
            "eps.toml",
            &format!("{TINY}\n[adversarial]\nnorm = \"linf\"\neps = -0.1\n"),
        ),
        &["eps.toml", "adversarial.eps", "-0.1"],
    );
    train(
        &cfg(
            "nan-eps.toml",
            &format!("{TINY}\n[adversarial]\nnorm = \"linf\"\neps = nan\n"),
        ),
        &["nan-eps.toml", "adversarial.eps", "NaN"],
    );
    train(
        &cfg(
            "ratio.toml",
            &format!(
                "{TINY}\n[eval]\nmeasures = [\"pruning\"]\n[eval.settings.pruning]\nratios = [0.5, 1.5]\nmethods = [\"global\"]\n"
            ),
        ),
        &[
            "ratio.toml",
            "eval.settings.pruning.ratios[1]",
            "1.5",
            "outside [0, 1)",
        ],
    );
    // k larger than the layer: TINY's first layer is [4, 64], so at most 4 directions.
    train(
        &cfg(
            "k.toml",
            &format!(
                "{TINY}\n[eval]\nmeasures = [\"representation\"]\n[eval.settings]\nalignment_k = 10\n"
            ),
        ),
        &[
            "k.toml",
            "eval.settings.alignment_k",
            "10 is larger than the first layer",
            "at most 4",
        ],
    );
    train(
        &cfg(
            "ranks.toml",
            &format!(
                "{TINY}\n[eval]\nmeasures = [\"rank-truncation\"]\n[eval.settings]\nranks = [1, 65]\n"
            ),
        ),
        &["ranks.toml", "eval.settings.ranks[1]", "65", "at most 4"],
    );
    train(
        &cfg("data.toml", &TINY.replace("uci-digits", "imagenet")),
        &["imagenet"],
    );
    train(
        &cfg(
            "shape.toml",
            &TINY.replace("input = [1, 8, 8]", "input = [3, 32, 32]"),
        ),
        &["model.input", "does not match the data"],
    );
    // Experiment grid files (`--configs DIR` holds `smoke/*.toml`).
    let base = std::fs::read_to_string(repo().join("configs/smoke/boundaries.toml")).unwrap();
    let grid = |name: &str, text: &str| {
        let d = t.path().join(name);
        std::fs::create_dir_all(d.join("smoke")).unwrap();
        std::fs::write(d.join("smoke/boundaries.toml"), text).unwrap();
        d.display().to_string()
    };
    let dry = |what: &str, dir: &str, phrases: &[&str]| {
        case(
            what,
            &[
                "reproduce",
                "--scale",
                "smoke",
                "--configs",
                dir,
                "--dry-run",
            ],
            phrases,
        )
    };
    dry(
        "unknown key in a grid file",
        &grid("g-unknown", &format!("bogus = 1\n{base}")),
        &["boundaries.toml", "unknown field `bogus`"],
    );
    dry(
        "absurd seed count in a grid file",
        &grid(
            "g-seeds",
            &base.replace("seeds = 2", "seeds = 1000000000000"),
        ),
        &["boundaries.toml", "seeds", "1000000000000"],
    );
    case(
        "missing config",
        &["train", "--config", "/no/such.toml"],
        &["/no/such.toml"],
    );
    let m = tiny_model().display().to_string();
    case(
        "pruning ratio outside [0, 1)",
        &[
            "prune", "--model", &m, "--method", "global", "--ratio", "1.5",
        ],
        &["ratio", "1.5"],
    );
    case_code(
        "negative attack budget",
        &[
            "attack",
            "--model",
            &m,
            "--data",
            "uci-digits",
            "--attack",
            "pgd",
            "--eps",
            "-1",
        ],
        USAGE,
        &["--eps"],
    );
    // Choice flags are usage errors (exit 2) that list the values.
    let attack = |extra: &[&str]| {
        let mut a = vec![
            "attack",
            "--model",
            &m,
            "--data",
            "uci-digits",
            "--eps",
            "0.1",
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    for (what, extra, phrases) in [
        (
            "unknown attack",
            &["--attack", "cw"][..],
            &["cw", "--attack", "apgd-ce", "autoattack"][..],
        ),
        (
            "unknown norm",
            &["--attack", "pgd", "--norm", "l7"],
            &["l7", "--norm", "linf", "l2"],
        ),
        (
            "unknown APGD mode",
            &["--attack", "apgd-ce", "--mode", "fast"],
            &["fast", "--mode", "reference", "art"],
        ),
        (
            "unknown AutoAttack version",
            &["--attack", "autoattack", "--version", "extra"],
            &["extra", "--version", "standard", "plus", "rand"],
        ),
        (
            "unknown device",
            &["--attack", "pgd", "--device", "tpu"],
            &["tpu", "--device", "cpu"],
        ),
    ] {
        let args = attack(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        case_code(what, &args, USAGE, phrases);
    }
    case_code(
        "unknown pruning method",
        &[
            "prune", "--model", &m, "--method", "magic", "--ratio", "0.5",
        ],
        USAGE,
        &["magic", "--method", "layerwise", "lowrank"],
    );
    case_code(
        "unknown estimator",
        &["analyze", "--model", &m, "--estimator", "guess"],
        USAGE,
        &["guess", "--estimator", "certified-upper"],
    );
    case(
        "unknown experiment",
        &[
            "reproduce",
            "--scale",
            "smoke",
            "--only",
            "nonexistent",
            "--dry-run",
        ],
        &["--only", "nonexistent"],
    );
    case_code(
        "unknown scale",
        &["reproduce", "--scale", "galactic", "--dry-run"],
        USAGE,
        &["galactic", "smoke", "cpu", "paper", "rehearsal"],
    );
    case_code(
        "bad jobs",
        &["reproduce", "--scale", "smoke", "--jobs", "0", "--dry-run"],
        USAGE,
        &["--jobs", "0"],
    );
    case_code(
        "bad shard",
        &[
            "reproduce",
            "--scale",
            "smoke",
            "--shard",
            "3/2",
            "--dry-run",
        ],
        USAGE,
        &["--shard", "0 <= i < n"],
    );
    // k larger than a layer is clamped to the layer's size (documented in --help), not an error.
    let (ok, text) = xtask(&["analyze", "--model", &m, "--k", "1000", "--json"]);
    assert!(ok, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for l in v["bounds"]["layers"].as_array().unwrap() {
        assert!(l["sigma"]["k"].as_u64().unwrap() <= l["shape"][0].as_u64().unwrap());
    }
}

#[test]
fn corrupt_checkpoint_and_read_only_results() {
    let t = tempfile::tempdir().unwrap();
    let config = repo()
        .join("tests/fixtures/analyze/tiny.toml")
        .display()
        .to_string();
    // A real checkpoint: train until the first one exists, then SIGKILL.
    let dir = t.path().join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(repo())
        .env("CR_LOG", "warn")
        .args([
            "train",
            "--config",
            &config,
            "--out",
            &dir.display().to_string(),
        ])
        .args(["-q"])
        .spawn()
        .unwrap();
    let ckpt = dir.join("train.ckpt");
    let start = std::time::Instant::now();
    // Checkpoints are written atomically, so whatever is read under the name is whole.
    let mut first = None;
    while first.is_none() && start.elapsed().as_secs() < 60 {
        first = std::fs::read(&ckpt).ok();
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let _ = child.kill();
    child.wait().unwrap();
    let b = first.expect("no checkpoint within 60 s");
    // The run may have finished before the kill (it takes a fraction of a second): remove its
    // outputs so that the commands below resume from the checkpoint.
    for f in ["model.safetensors", "metrics.json"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    // Cut off (atomic writes make this a broken disk or a hand edit, not a crash): in the
    // tensor data, then inside the header.
    let resume = |what: &str, bytes: &[u8], phrases: &[&str]| {
        std::fs::write(&ckpt, bytes).unwrap();
        case(
            what,
            &[
                "train",
                "--config",
                &config,
                "--out",
                &dir.display().to_string(),
            ],
            phrases,
        );
    };
    resume(
        "checkpoint cut in its tensor data",
        &b[..b.len() - 100],
        &["train.ckpt", "truncated"],
    );
    resume(
        "checkpoint cut in its header",
        &b[..200],
        &["train.ckpt", "truncated"],
    );
    resume("empty checkpoint", b"", &["train.ckpt"]);
    // A results folder that cannot be written.
    let ro = t.path().join("ro");
    std::fs::create_dir_all(&ro).unwrap();
    let mut perm = std::fs::metadata(&ro).unwrap().permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(&ro, perm).unwrap();
    if std::fs::write(ro.join("probe"), b"x").is_ok() {
        eprintln!("read-only results folder: skipped (running as root, permissions do not bind)");
    } else {
        case(
            "read-only results folder",
            &[
                "reproduce",
                "--scale",
                "smoke",
                "--only",
                "boundaries",
                "--out",
                &ro.display().to_string(),
            ],
            &[&ro.display().to_string()],
        );
    }
    let mut perm = std::fs::metadata(&ro).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    let _ = std::fs::set_permissions(&ro, perm);
}

#[test]
fn same_seed_same_bytes() {
    let t = tempfile::tempdir().unwrap();
    let config = repo()
        .join("tests/fixtures/analyze/tiny.toml")
        .display()
        .to_string();
    let mut files = Vec::new();
    for i in 0..2 {
        let out = t.path().join(format!("run{i}"));
        let (ok, text) = xtask(&[
            "train",
            "--config",
            &config,
            "--out",
            &out.display().to_string(),
            "-q",
        ]);
        assert!(ok, "{text}");
        let model = std::fs::read(out.join("model.safetensors")).unwrap();
        let mut metrics: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
        strip_times(&mut metrics);
        files.push((model, metrics));
    }
    assert!(files[0].0 == files[1].0, "model files differ");
    assert_eq!(files[0].1, files[1].1);
}

/// Removes wall-clock fields (`seconds`, `*_seconds`, `started`, …) from a metrics tree.
fn strip_times(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| !(k.contains("second") || k.contains("time") || k == "started"));
            m.values_mut().for_each(strip_times);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_times),
        _ => {}
    }
}

fn import_fixture(name: &str) -> PathBuf {
    repo().join(format!(
        "crates/cr-models/tests/fixtures/import/{name}.safetensors"
    ))
}

#[test]
fn bad_state_dicts() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out.safetensors");
    let out_s = out.display().to_string();
    let import = |sd: &Path, arch: &str, input: &str| -> Vec<String> {
        [
            "import",
            &sd.display().to_string(),
            "--arch",
            arch,
            "--input",
            input,
            "--out",
            &out_s,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |what: &str, args: Vec<String>, phrases: &[&str]| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        case(what, &a, phrases);
    };
    // The unmodified fixture imports, and the file it writes can be predicted with.
    let fcn = import_fixture("cr_fcn");
    let ok = import(&fcn, "cr-fcn", "1,8,8");
    let ok: Vec<&str> = ok.iter().map(String::as_str).collect();
    assert!(xtask(&ok).0);
    assert!(out.exists());

    let bytes = std::fs::read(&fcn).unwrap();
    let truncated = t.path().join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    run(
        "truncated state dict",
        import(&truncated, "cr-fcn", "1,8,8"),
        &["truncated.safetensors", "not a safetensors file"],
    );

    // head.bias as F64: same values, twice the bytes.
    let mut h = read_safetensors(&fcn);
    let bias = h.tensors.get_mut("head.bias").unwrap();
    bias.0 = "F64".into();
    bias.2 = bias
        .2
        .chunks_exact(4)
        .flat_map(|c| (f32::from_le_bytes(c.try_into().unwrap()) as f64).to_le_bytes())
        .collect();
    let f64_file = t.path().join("f64.safetensors");
    write_model(&h, &f64_file);
    run(
        "wrong dtype",
        import(&f64_file, "cr-fcn", "1,8,8"),
        &["f64.safetensors", "`head.bias`", "F64", "F32 tensors only"],
    );

    run(
        "key of another architecture",
        import(
            &import_fixture("rb_wrn_10_1"),
            "torchvision-resnet18",
            "3,32,32",
        ),
        &[
            "rb_wrn_10_1.safetensors",
            "not a `torchvision-resnet18` state dict",
        ],
    );
    run(
        "unknown architecture",
        import(&fcn, "torchvision-resnet34", "1,8,8"),
        &[
            "unknown architecture `torchvision-resnet34`",
            "robustbench-wrn-D-W",
        ],
    );
    let bad_input = import(&fcn, "cr-fcn", "1,8");
    let bad_input: Vec<&str> = bad_input.iter().map(String::as_str).collect();
    case_code(
        "input shape of two values",
        &bad_input,
        USAGE,
        &["`1,8`", "C,H,W"],
    );
    case_code(
        "--n and --first together",
        &[
            "attack", "--model", &out_s, "--attack", "fgsm", "--eps", "0.1", "--n", "10",
            "--first", "10",
        ],
        USAGE,
        &["--first"],
    );
}
