#!/usr/bin/env python3
"""JSON for gpu/device-run.sh (standard library only: the GPU machine has no extra packages).

  compare  smoke-grid results of each backend against the CPU reference: same runs and same
           shapes (every result.json field, list lengths included), and every accuracy within
           the seed noise of the CPU reference (3 seeds per point)
  bench    the rows of `xtask bench --json`, one file per workload, plus the workloads that
           failed or ran out of time
  slice    the paper slice: seconds per epoch (train metrics) and per APGD evaluation (attack)
  summary  every step's status and time, the device check, the bundle manifest, the verdicts
  attacks  `xtask attack --json` on a backend against the same attack, model and images on the
           CPU: robust accuracy within binomial noise, every adversarial point in the ε-ball
           and in [0, 1], no NaN (gpu/lavapipe-check.sh)
"""

import argparse
import json
import math
import os
import re
import statistics
import sys

# Fields that differ from run to run by nature: wall-clock times and the device's name.
VOLATILE = re.compile(r"(^|_)seconds$|^device$|^machine$")
ACCURACY = re.compile(r"accuracy|fooling_rate")
FLOOR = 0.02  # smallest tolerance on an accuracy: 2 of the smoke grid's 100 test samples
OUTSIDE_ALLOWED = 0.05  # share of accuracies allowed outside the seed noise
# A backend's run differs from the reference seed like a draw from another seed at worst: the
# difference of two draws has SD sqrt(2) sigma, so 3 such SDs.
NOISE_SDS = 3 * math.sqrt(2)


def flatten(v, path="", out=None):
    """Leaves of a JSON value as {path: value}; volatile keys are dropped."""
    out = {} if out is None else out
    if isinstance(v, dict):
        for k, x in v.items():
            if not VOLATILE.search(k):
                flatten(x, f"{path}.{k}" if path else k, out)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            flatten(x, f"{path}[{i}]", out)
    else:
        out[path] = v
    return out


def results(folder):
    """{experiment/run: flattened result.json} of a results folder."""
    out = {}
    if not os.path.isdir(folder):
        return out
    for exp in sorted(os.listdir(folder)):
        d = os.path.join(folder, exp)
        if not os.path.isdir(d) or exp == "figures":
            continue
        for run in sorted(os.listdir(d)):
            f = os.path.join(d, run, "result.json")
            if os.path.isfile(f):
                with open(f) as fh:
                    out[f"{exp}/{run}"] = flatten(json.load(fh))
    return out


def split_seed(key):
    m = re.match(r"(.*)-s(\d+)$", key)
    return (m.group(1), int(m.group(2))) if m else (key, 0)


def number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def compare(args):
    ref = {}  # point -> seed -> leaves
    for folder in args.reference:
        for key, leaves in results(folder).items():
            point, seed = split_seed(key)
            ref.setdefault(point, {})[seed] = leaves
    if not ref:
        raise SystemExit("no reference results")
    # Seed noise: per point and field, the range over seeds; per field name, the pooled SD.
    pooled = {}
    for point, seeds in ref.items():
        for path in seeds.get(0, {}):
            if not ACCURACY.search(path):
                continue
            vals = [s[path] for s in seeds.values() if number(s.get(path))]
            if len(vals) > 1:
                name = point.split("/")[0] + ":" + re.sub(r"\[\d+\]", "[]", path)
                pooled.setdefault(name, []).append(statistics.pvariance(vals) * len(vals) / (len(vals) - 1))
    pooled_sd = {k: math.sqrt(statistics.mean(v)) for k, v in pooled.items()}

    report = {
        "reference": args.reference,
        "seeds": sorted({s for p in ref.values() for s in p}),
        "points": len(ref),
        "tolerance": f"max(range over the reference seeds, 3 sqrt(2) x pooled seed SD of the field, {FLOOR})",
        "allowed_outside": OUTSIDE_ALLOWED,
        "backends": {},
    }
    for spec in args.run:
        label, folder = spec.split("=", 1)
        got = {split_seed(k)[0]: v for k, v in results(folder).items() if split_seed(k)[1] == 0}
        missing = sorted(set(ref) - set(got))
        extra = sorted(set(got) - set(ref))
        shape_diffs, outside, diffs, n_acc = [], [], [], 0
        for point in sorted(set(ref) & set(got)):
            base, mine = ref[point].get(0, {}), got[point]
            for path in sorted(set(base) ^ set(mine)):
                shape_diffs.append(f"{point}: {path} only in {'reference' if path in base else label}")
            for path in sorted(set(base) & set(mine)):
                a, b = base[path], mine[path]
                if number(a) != number(b) and not (a is None and b is None):
                    if type(a) is not type(b) or not number(a):
                        if not (isinstance(a, str) and isinstance(b, str)):
                            shape_diffs.append(f"{point}: {path} is {a!r} in the reference, {b!r} here")
                    continue
                if not (number(a) and ACCURACY.search(path)):
                    continue
                n_acc += 1
                vals = [s[path] for s in ref[point].values() if number(s.get(path))]
                name = point.split("/")[0] + ":" + re.sub(r"\[\d+\]", "[]", path)
                tol = max(max(vals) - min(vals), NOISE_SDS * pooled_sd.get(name, 0.0), FLOOR)
                d = b - a
                diffs.append(abs(d))
                if abs(d) > tol + 1e-12:
                    outside.append({"run": point, "field": path, "reference": a, "seeds": vals,
                                    "backend": b, "diff": round(d, 6), "tolerance": round(tol, 6)})
        share = len(outside) / n_acc if n_acc else 1.0
        ok = not missing and not shape_diffs and n_acc > 0 and share <= OUTSIDE_ALLOWED
        report["backends"][label] = {
            "folder": folder,
            "runs": len(got),
            "missing_runs": missing,
            "extra_runs": extra,
            "same_shapes": not missing and not shape_diffs,
            "shape_differences": shape_diffs[:50],
            "accuracies_compared": n_acc,
            "outside_seed_noise": len(outside),
            "max_abs_diff": max(diffs) if diffs else None,
            "mean_abs_diff": statistics.mean(diffs) if diffs else None,
            "outside": outside[:50],
            "pass": ok,
        }
        print(f"{label}: {len(got)} runs, {len(missing)} missing, {len(shape_diffs)} shape differences, "
              f"{len(outside)}/{n_acc} accuracies outside seed noise "
              f"(max |diff| {max(diffs) if diffs else float('nan'):.4f}): {'PASS' if ok else 'FAIL'}")
    write(args.out, report)
    return 0 if all(b["pass"] for b in report["backends"].values()) else 1


def steps(path):
    out = []
    if path and os.path.isfile(path):
        with open(path) as fh:
            for line in fh:
                name, rc, sec, status = line.rstrip("\n").split("\t")
                out.append({"step": name, "rc": None if rc == "-" else int(rc), "seconds": int(sec), "status": status})
    return out


def bench(args):
    rows, meta = [], {}
    for f in args.files:
        try:
            with open(f) as fh:
                r = json.load(fh)
        except (OSError, ValueError):
            continue
        rows += r.get("rows", [])
        meta = {k: v for k, v in r.items() if k != "rows"}
    done = {r["workload"] for r in rows}
    prefix = f"bench-{args.label}-"
    failed = [dict(s, workload=s["step"][len(prefix):]) for s in steps(args.steps)
              if s["step"].startswith(prefix) and s["status"] != "ok"]
    write(args.out, {"label": args.label, "device": args.device, **meta, "rows": rows,
                     "not_measured": [f for f in failed if f["workload"] not in done]})
    return 0


def load(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def slice_(args):
    train, metrics, attack = load(args.train), load(args.metrics), load(args.attack)
    epochs = [e.get("seconds") for e in (metrics or {}).get("epochs", [])]
    out = {"label": args.label, "device": args.device,
           "config": "gpu/paper-slice.toml (configs/paper/fcn-standard, FCN 4x2000, batch 100, constant lr, no augmentation; stand-in CIFAR-10 at 50,000/10,000)"}
    if train:
        out["train"] = train
    if epochs:
        out["seconds_per_epoch"] = epochs
        out["seconds_per_epoch_after_first"] = statistics.median(epochs[1:]) if len(epochs) > 1 else None
    if attack:
        out["attack"] = {k: attack.get(k) for k in ("data", "clean_accuracy", "worst_case_robust_accuracy")}
        out["apgd"] = [{"attack": a["params"]["attack"], "norm": a["params"]["norm"], "eps": a["params"]["eps"],
                        "steps": a["params"]["steps"], "restarts": a["params"]["restarts"],
                        "robust_accuracy": a["robust_accuracy"], "seconds": a["seconds"]}
                       for a in attack.get("attacks", [])]
    out["steps"] = [s for s in steps(args.steps) if s["step"].endswith(f"-{args.label}") and s["step"].startswith("slice-")]
    write(args.out, out)
    return 0


def summary(args):
    check = open(args.check).read().splitlines() if os.path.isfile(args.check) else []
    st = steps(args.steps)
    comp = load(args.compare) or {}
    out = {
        "devices": args.devices,
        "quick": args.quick == "1",
        "budget_seconds": args.budget,
        "seconds": args.seconds,
        "within_8_minutes": args.seconds <= 480,
        "steps_ok": sum(s["status"] == "ok" for s in st),
        "steps_failed": [s["step"] for s in st if s["status"] == "failed"],
        "steps_timed_out": [s["step"] for s in st if s["status"] == "timed out"],
        "steps_skipped": [s["step"] for s in st if s["status"].startswith("skipped")],
        "smoke_vs_cpu": {k: {f: v[f] for f in ("pass", "runs", "same_shapes", "accuracies_compared",
                                               "outside_seed_noise", "max_abs_diff")}
                         for k, v in comp.get("backends", {}).items()},
        "slice": {},
        "bench": {},
        "check": check,
        "bundle": load(args.manifest),
        "steps": st,
    }
    for f in sorted(os.listdir(args.results)) if os.path.isdir(args.results) else []:
        d = load(os.path.join(args.results, f))
        if f.startswith("slice-") and d:
            out["slice"][d["label"]] = {"seconds_per_epoch": d.get("seconds_per_epoch"),
                                        "apgd_seconds": [a["seconds"] for a in d.get("apgd", [])]}
        if f.startswith("bench-") and d:
            out["bench"][d["label"]] = {r["workload"]: [r["value"], r["unit"]] for r in d.get("rows", [])}
    write(args.out, out)
    return 0


def attack_lines(report):
    """(label, robust accuracy, params, perturbation) of each line of an attack report."""
    out = []
    for a in report.get("attacks", []):
        p = a["params"]
        out.append((f"{p['attack']} {p['norm']} {p['eps']:g}" + (f" {p['mode']}" if p.get("mode") else ""),
                    a["robust_accuracy"], p, a.get("perturbation")))
    u = report.get("uap")
    if u:
        out.append((f"uap {u['norm']} {u['xi']:g}", 1.0 - u["fooling_rate"], {"norm": u["norm"], "eps": u["xi"]},
                    {"max_norm": u["perturbation_norm"], "min": None, "max": None, "nans": 0}))
    return out


def in_ball(pert, norm, eps):
    """Problems with where an attack's points lie (empty when every point is valid)."""
    if pert is None:
        return ["no perturbation summary"]
    bad = []
    if pert["max_norm"] is None or pert["max_norm"] > eps * (1 + 1e-4) + 1e-6:
        bad.append(f"max {norm} perturbation {pert['max_norm']} > eps {eps}")
    if pert.get("min") is not None and pert["min"] < 0:
        bad.append(f"a value {pert['min']} < 0")
    if pert.get("max") is not None and pert["max"] > 1:
        bad.append(f"a value {pert['max']} > 1")
    if pert.get("nans"):
        bad.append(f"{pert['nans']} NaN values")
    return bad


def attacks(args):
    """Each PAIR is LABEL=BACKEND_JSON,CPU_JSON: the same model, images and attack on both."""
    rows, ok = [], True
    for spec in args.pair:
        label, files = spec.split("=", 1)
        dev_path, cpu_path = files.split(",")
        dev, cpu = load(dev_path), load(cpu_path)
        if dev is None or cpu is None:
            rows.append({"case": label, "pass": False, "problems": ["missing JSON: the attack failed"]})
            ok = False
            continue
        n = dev.get("samples") or 1
        for (name, ra, p, pert), (_, ra_cpu, _, _) in zip(attack_lines(dev), attack_lines(cpu)):
            # Two runs of one randomised attack on one model and the same n images: their robust
            # accuracies differ by at most about 3 binomial SDs of a difference, and never by
            # less than the 2 samples float rounding alone can flip.
            sd = math.sqrt(2 * max(ra_cpu * (1 - ra_cpu), 1 / n) / n)
            tol = max(3 * sd, 2 / n)
            problems = in_ball(pert, p["norm"], p["eps"])
            if abs(ra - ra_cpu) > tol:
                problems.append(f"robust accuracy {ra:.4f} vs the CPU's {ra_cpu:.4f} (tolerance {tol:.4f})")
            rows.append({"case": f"{label}: {name}", "robust_accuracy": ra, "cpu_robust_accuracy": ra_cpu,
                         "tolerance": round(tol, 4), "samples": n, "perturbation": pert,
                         "pass": not problems, "problems": problems})
            ok &= not problems
    for r in rows:
        print(f"{'PASS' if r['pass'] else 'FAIL'} {r['case']}" + ("" if r["pass"] else ": " + "; ".join(r["problems"])))
    write(args.out, {"pass": ok, "cases": len(rows), "failed": sum(not r["pass"] for r in rows), "rows": rows})
    return 0 if ok else 1


def write(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--out", required=True)
    c.add_argument("--reference", nargs="+", required=True, help="CPU results folders (all seeds)")
    c.add_argument("--run", action="append", default=[], help="LABEL=FOLDER of a backend's results")
    b = sub.add_parser("bench")
    b.add_argument("--out", required=True)
    b.add_argument("--label", required=True)
    b.add_argument("--device", required=True)
    b.add_argument("--steps")
    b.add_argument("files", nargs="*")
    s = sub.add_parser("slice")
    for a in ("--out", "--label", "--device", "--train", "--metrics", "--attack", "--steps"):
        s.add_argument(a, required=a in ("--out", "--label", "--device"))
    m = sub.add_parser("summary")
    for a in ("--out", "--steps", "--check", "--manifest", "--devices", "--quick", "--compare", "--results"):
        m.add_argument(a, required=a == "--out")
    m.add_argument("--budget", type=int)
    m.add_argument("--seconds", type=int)
    a = sub.add_parser("attacks")
    a.add_argument("--out", required=True)
    a.add_argument("--pair", action="append", default=[], help="LABEL=BACKEND_JSON,CPU_JSON")
    args = p.parse_args()
    return {"compare": compare, "bench": bench, "slice": slice_, "summary": summary,
            "attacks": attacks}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
