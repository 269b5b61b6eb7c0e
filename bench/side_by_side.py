"""The `cargo xtask bench` workloads in PyTorch, side by side with cr, from one run.

    cargo build --release -p xtask
    pip install torch torchattacks adversarial-robustness-toolbox packaging numpy
    python3 bench/side_by_side.py            # runs target/release/xtask bench --json, then these

    python3 bench/side_by_side.py --autoattack-only --rounds 2   # just the AutoAttack comparison

AutoAttack is compared on the *same* model and data: the FCN trained here is written as a cr
model file and the 1,000 test samples as IDX files, `xtask attack --attack autoattack` runs on
them, alternating with torchattacks on the same tensors (its `AutoAttack` as shipped, which uses
10 iterations for APGD/APGD-T/FAB and a rescaled Square schedule, and a `MultiAttack` with the
reference settings: 100 iterations, Square schedule not rescaled). cr's time is the ensemble's
own wall time from its JSON (process start and file loading excluded).

Same data (the embedded MNIST / Fashion-MNIST files in data/), same shapes, batch sizes,
optimiser (AdamW 1e-3, weight decay 0.01), attack settings and thread count (2: torch and the
BLAS under numpy). Each workload is warmed up once before it is timed, as in cr. The ratio is
cr's time over PyTorch's for the same work: below 1 means cr is faster. Never run in CI.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import time

THREADS = "2"
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(v, THREADS)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import cr_models  # noqa: E402

torch.set_num_threads(int(THREADS))
torch.manual_seed(0)


def idx(path):
    b = gzip.open(path, "rb").read()
    ndim = b[3]
    dims = [int.from_bytes(b[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(b[4 + 4 * ndim :], dtype=np.uint8).reshape(dims)


def load(name, split):
    pre = "train" if split == "train" else "t10k"
    x = idx(os.path.join(ROOT, "data", name, f"{pre}-images-idx3-ubyte.gz"))
    y = idx(os.path.join(ROOT, "data", name, f"{pre}-labels-idx1-ubyte.gz"))
    return torch.tensor(x, dtype=torch.float32).unsqueeze(1) / 255.0, torch.tensor(y, dtype=torch.long)


def timed(f, warm):
    warm()
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t


def train_epoch(spec, x, y):
    def run(xs, ys):
        model = cr_models.build(spec)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
        perm = torch.randperm(len(xs))
        for i in range(0, len(xs), 100):
            b = perm[i : i + 100]
            opt.zero_grad()
            F.cross_entropy(model(xs[b]), ys[b]).backward()
            opt.step()
        return model.eval()

    model, secs = timed(lambda: run(x, y), lambda: run(x[:200], y[:200]))
    return model, len(x) / secs, secs


RESNET18 = {"arch": {"kind": "resnet", "blocks": [2, 2, 2, 2], "width": 64}, "input": [3, 32, 32], "num_classes": 10}


def resnet18_rows():
    """`resnet18-step` (10 AdamW steps on batches of 64, train mode) and `resnet18-grad` (5
    forward passes with the input gradient of the loss, eval mode, weights constant) on
    CIFAR-shaped images in [0, 1], as cr's rows (the pixels do not change the time)."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(640, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (640,), generator=g)
    model = cr_models.build(RESNET18).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

    def steps(n):
        for i in range(n):
            b = slice(64 * i, 64 * (i + 1))
            opt.zero_grad()
            F.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()

    _, step_secs = timed(lambda: steps(10), lambda: steps(2))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)

    def grads(n):
        for _ in range(n):
            xx = x[:64].clone().requires_grad_(True)
            F.cross_entropy(model(xx), y[:64]).backward()

    _, grad_secs = timed(lambda: grads(5), lambda: grads(1))
    return {
        "resnet18-step": ("torch", 640 / step_secs, "samples/s", step_secs),
        "resnet18-grad": ("torch", 320 / grad_secs, "samples/s", grad_secs),
    }


def write_idx(dirpath, x, y):
    """The samples as MNIST IDX files (both splits), for `xtask attack --data mnist:DIR`."""
    os.makedirs(dirpath, exist_ok=True)
    img = (x.squeeze(1).numpy() * 255).round().astype(np.uint8)
    lab = y.numpy().astype(np.uint8)
    for pre in ("train", "t10k"):
        with gzip.open(os.path.join(dirpath, f"{pre}-images-idx3-ubyte.gz"), "wb") as f:
            f.write(bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in img.shape) + img.tobytes())
        with gzip.open(os.path.join(dirpath, f"{pre}-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(bytes([0, 0, 8, 1]) + len(lab).to_bytes(4, "big") + lab.tobytes())


def autoattack_side_by_side(xtask, spec, fcn, tx, ty, rounds, eps=0.1):
    """AutoAttack standard, l-inf eps, on the same model and samples in cr and torchattacks,
    alternating; returns rows of (name, robust accuracy, seconds per round)."""
    import tempfile

    import torchattacks
    from safetensors.torch import save_file

    tmp = tempfile.mkdtemp(prefix="cr-aa-")
    model_path = os.path.join(tmp, "fcn.safetensors")
    save_file({k: v.contiguous() for k, v in fcn.state_dict().items()}, model_path,
              metadata={"cr.model": json.dumps(spec), "cr.format": "cr-model-1"})
    write_idx(os.path.join(tmp, "mnist"), tx, ty)
    # The IDX round trip quantises to 1/255: attack exactly those values on both sides.
    tx = torch.round(tx * 255) / 255

    def run_cr():
        out = subprocess.run([xtask, "attack", "--model", model_path, "--data", f"mnist:{os.path.join(tmp, 'mnist')}",
                              "--attack", "autoattack", "--norm", "linf", "--eps", str(eps), "--json"],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        a = json.loads(out.stdout)["attacks"][0]
        return a["robust_accuracy"], a["seconds"], a.get("stages", [])

    def run_ta(attack):
        t = time.perf_counter()
        adv = attack(tx, ty)
        secs = time.perf_counter() - t
        with torch.no_grad():
            rob = (fcn(adv).argmax(1) == ty).float().mean().item()
        return rob, secs

    def reference_settings():
        return torchattacks.MultiAttack([
            torchattacks.APGD(fcn, norm="Linf", eps=eps, steps=100, n_restarts=1, loss="ce", seed=0),
            torchattacks.APGDT(fcn, norm="Linf", eps=eps, steps=100, n_restarts=1, n_classes=10, seed=0),
            torchattacks.FAB(fcn, norm="Linf", eps=eps, steps=100, n_restarts=1, multi_targeted=True, n_classes=10, seed=0),
            torchattacks.Square(fcn, norm="Linf", eps=eps, n_queries=5000, n_restarts=1, p_init=0.8,
                                resc_schedule=False, seed=0),
        ])

    res = {"cr": [], "torchattacks AutoAttack (as shipped)": [], "torchattacks, reference settings": []}
    for r in range(rounds):
        rob, secs, stages = run_cr()
        res["cr"].append((rob, secs))
        print(f"  round {r}: cr robust {rob:.4f} in {secs:.1f} s; stages "
              + ", ".join(f"{s['attack']} {s['robust_accuracy']:.3f} ({s['seconds']:.1f} s)" for s in stages),
              file=sys.stderr)
        ta = torchattacks.AutoAttack(fcn, norm="Linf", eps=eps, version="standard", n_classes=10, seed=0)
        res["torchattacks AutoAttack (as shipped)"].append(run_ta(ta))
        res["torchattacks, reference settings"].append(run_ta(reference_settings()))
        for k, v in res.items():
            if k != "cr":
                print(f"  round {r}: {k} robust {v[-1][0]:.4f} in {v[-1][1]:.1f} s", file=sys.stderr)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xtask", default=os.path.join(ROOT, "target/release/xtask"))
    ap.add_argument("--cr-json", help="use this saved `xtask bench --json` output instead of running it")
    ap.add_argument("--json", help="write both sides and the ratios here")
    ap.add_argument("--autoattack-only", action="store_true",
                    help="only the AutoAttack comparison (trains the FCN here, runs `xtask attack`)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds of the AutoAttack comparison")
    args = ap.parse_args()

    if args.autoattack_only:
        fcn_spec = {"arch": {"kind": "fcn", "width": 400, "depth": 1, "bias": False}, "input": [1, 28, 28], "num_classes": 10}
        x, y = load("mnist", "train")
        fcn, _, _ = train_epoch(fcn_spec, x, y)
        for p in fcn.parameters():
            p.requires_grad_(False)
        tx, ty = load("mnist", "test")
        res = autoattack_side_by_side(args.xtask, fcn_spec, fcn, tx[:1000], ty[:1000], args.rounds)
        cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("Model name")), "?")
        print(f"AutoAttack standard, l-inf 0.1, 784-400-10 FCN, 1000 MNIST test samples; {model}, "
              f"torch {torch.__version__}, {THREADS} threads")
        cr_rob = np.mean([r[0] for r in res["cr"]])
        cr_t = np.median([r[1] for r in res["cr"]])
        print(f"{'who':<40} {'robust acc':>10} {'median s':>9} {'cr time ratio':>14}")
        for k, v in res.items():
            rob, t = np.mean([r[0] for r in v]), np.median([r[1] for r in v])
            print(f"{k:<40} {rob:>10.4f} {t:>9.1f} {cr_t / t:>14.3f}   (cr robust - this: {cr_rob - rob:+.4f})")
        if args.json:
            json.dump({"cpu": model, "rounds": res}, open(args.json, "w"), indent=1)
        return

    if args.cr_json:
        cr = json.load(open(args.cr_json))
    else:
        out = subprocess.run([args.xtask, "bench", "--json"], capture_output=True, text=True, check=True, cwd=ROOT)
        cr = json.loads(out.stdout)
    crv = {r["workload"]: r for r in cr["rows"]}

    rows = {}
    fcn_spec = {"arch": {"kind": "fcn", "width": 400, "depth": 1, "bias": False}, "input": [1, 28, 28], "num_classes": 10}
    x, y = load("mnist", "train")
    fcn, rate, secs = train_epoch(fcn_spec, x, y)
    rows["train-fcn"] = ("torch", rate, "samples/s", secs)

    cnn_spec = {"arch": {"kind": "cnn", "channels": [8, 16], "hidden": 64}, "input": [1, 28, 28], "num_classes": 10}
    fx, fy = load("fashion-mnist", "train")
    _, rate, secs = train_epoch(cnn_spec, fx[:2000], fy[:2000])
    rows["train-cnn"] = ("torch", rate, "samples/s", secs)
    rows.update(resnet18_rows())

    tx, ty = load("mnist", "test")
    tx, ty = tx[:1000], ty[:1000]
    for p in fcn.parameters():
        p.requires_grad_(False)

    def batched(attack):
        return lambda: torch.cat([attack(tx[i : i + 500], ty[i : i + 500]) for i in range(0, len(tx), 500)])

    try:
        import torchattacks

        pgd = torchattacks.PGD(fcn, eps=0.1, alpha=0.025, steps=10, random_start=True)
        _, secs = timed(batched(pgd), lambda: pgd(tx[:10], ty[:10]))
        rows["pgd-10"] = ("torchattacks", len(tx) / secs, "samples/s", secs)
        apgd = torchattacks.APGD(fcn, norm="Linf", eps=0.1, steps=100, n_restarts=1, loss="ce", seed=0)
        _, secs = timed(batched(apgd), lambda: apgd(tx[:10], ty[:10]))
        rows["apgd-ce-100 (torchattacks)"] = ("torchattacks", len(tx) / secs, "samples/s", secs)
    except ImportError:
        print("torchattacks not installed: PGD and its APGD skipped", file=sys.stderr)

    try:
        from art.attacks.evasion import AutoProjectedGradientDescent, UniversalPerturbation
        from art.estimators.classification import PyTorchClassifier

        clf = PyTorchClassifier(
            model=fcn, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 28, 28), nb_classes=10,
            clip_values=(0.0, 1.0), device_type="cpu",
        )
        xn, yn = tx.numpy(), ty.numpy()
        apgd = AutoProjectedGradientDescent(
            clf, norm=np.inf, eps=0.1, eps_step=0.2, max_iter=100, nb_random_init=1, batch_size=500,
            loss_type="cross_entropy", verbose=False,
        )
        _, secs = timed(lambda: apgd.generate(xn, yn), lambda: apgd.generate(xn[:10], yn[:10]))
        rows["apgd-ce-100"] = ("ART", len(xn) / secs, "samples/s", secs)
        uap = UniversalPerturbation(
            clf, attacker="fgsm", attacker_params={"eps": 0.15, "norm": np.inf}, delta=0.2,
            max_iter=5, eps=0.15, norm=np.inf, batch_size=500, verbose=False,
        )
        _, secs = timed(lambda: uap.generate(xn[:500]), lambda: uap.generate(xn[:10]))
        rows["uap"] = ("ART", secs, "s", secs)
    except ImportError:
        print("adversarial-robustness-toolbox not installed: ART APGD and UAP skipped", file=sys.stderr)

    rng = np.random.default_rng(1)
    for name, n in (("svd-512", 512), ("svd-2048", 2048)):
        w = rng.random((n, n)) - 0.5
        _, secs = timed(lambda: np.linalg.svd(w, full_matrices=False), lambda: np.linalg.svd(w[:64, :64]))
        rows[name] = ("numpy", secs, "s", secs)
    w = rng.random((2048, 2048)) - 0.5

    def norms():
        return (np.abs(w).sum(1).max(), np.abs(w).sum(0).max(), np.linalg.norm(w), np.linalg.svd(w, compute_uv=False)[0])

    _, secs = timed(norms, lambda: np.linalg.svd(w[:64, :64], compute_uv=False))
    rows["norms-2048"] = ("numpy", secs, "s", secs)

    print(f"machine: {cr['machine']}; torch {torch.__version__}, numpy {np.__version__}, {THREADS} threads")
    print(f"{'workload':<28} {'cr':>12} {'PyTorch side':>14} {'unit':<10} {'ratio cr/other (time)':>22}  other tool")
    table = []
    for name, (tool, value, unit, secs) in rows.items():
        key = name.split(" ")[0]
        c = crv.get(key)
        if c is None:
            continue
        ratio = c["seconds"] / secs if unit == "s" else value / c["value"]
        table.append(dict(workload=name, cr=c["value"], other=value, unit=unit, ratio=ratio, tool=tool))
        print(f"{name:<28} {c['value']:>12.3f} {value:>14.3f} {unit:<10} {ratio:>22.3f}  {tool}")
    if args.json:
        json.dump(dict(machine=cr["machine"], cr=cr, rows=table), open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
