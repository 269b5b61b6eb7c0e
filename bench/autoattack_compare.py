"""cr's AutoAttack against the reference (fra31/auto-attack) and torchattacks on the same
models and the same first-N images, per sample.

    cargo build --release -p xtask
    pip install torch torchvision torchattacks safetensors
    git clone https://github.com/fra31/auto-attack /tmp/fra31     # not on PyPI
    python3 bench/autoattack_compare.py --fra31 /tmp/fra31 --first 500 [--kinds fcn,cnn,resnet]
    # the references take minutes: run them once into a folder, then cr against them
    python3 bench/autoattack_compare.py --fra31 /tmp/fra31 --work /tmp/aa --references-only

Models: `fcn` (cr's 784-400-10 FCN twin) and `cnn` (cr's cnn-small twin), trained here in
PyTorch for a few epochs on the embedded MNIST training subset and written as cr model files;
`resnet`, a narrow torchvision ResNet18 (CIFAR stem, width 16, random weights and batch-norm
statistics) exported with python/export.py and brought in with `xtask import`, on CIFAR-shaped
synthetic images (uniform random bytes) labelled by the model itself, written as CIFAR-10
binary batches. Every tool sees the same float32 images: the first N of the test split in file
order (`xtask attack --first N`). Robust flags per sample: clean-correct and not broken.
Times are each tool's own attack time (cr: the ensemble's seconds from its JSON), 2 threads.
Prints one JSON object per (model, norm) and a summary table. Never run in CI.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

THREADS = "2"
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(v, THREADS)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import cr_models  # noqa: E402
import export  # noqa: E402

torch.set_num_threads(int(THREADS))


def idx(path):
    b = gzip.open(path, "rb").read()
    ndim = b[3]
    dims = [int.from_bytes(b[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(b[4 + 4 * ndim :], dtype=np.uint8).reshape(dims)


def mnist(split):
    pre = "train" if split == "train" else "t10k"
    x = idx(os.path.join(ROOT, "data", "mnist", f"{pre}-images-idx3-ubyte.gz"))
    y = idx(os.path.join(ROOT, "data", "mnist", f"{pre}-labels-idx1-ubyte.gz"))
    return torch.tensor(x, dtype=torch.float32).unsqueeze(1) / 255.0, torch.tensor(y, dtype=torch.long)


def train(model, x, y, epochs, seed):
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 100):
            b = perm[i : i + 100]
            opt.zero_grad()
            F.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
    return model.eval()


def save_cr(model, spec, path):
    """A cr model file straight from a twin: its state dict plus the spec under `cr.model`."""
    sd = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()
          if v.is_floating_point()}
    save_file(sd, path, metadata={"cr.model": json.dumps(spec), "cr.format": "cr-model-1"})


def write_cifar(d, x, y):
    """CIFAR-10 binary batches holding `x` (float32 multiples of 1/255) as the test split."""
    os.makedirs(d, exist_ok=True)
    pixels = (x * 255).round().to(torch.uint8).reshape(len(x), -1).numpy()
    rec = np.concatenate([y.numpy().astype(np.uint8)[:, None], pixels], axis=1).tobytes()
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        with open(os.path.join(d, name), "wb") as f:
            f.write(rec)


def narrow_resnet18(width, classes):
    import torchvision

    R = torchvision.models.resnet.ResNet

    class Narrow(R):
        def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
            if planes == 64:
                self.inplanes = width
            return R._make_layer(self, block, planes * width // 64, blocks, stride, dilate)

    m = Narrow(torchvision.models.resnet.BasicBlock, [2, 2, 2, 2], num_classes=classes)
    m.conv1 = torch.nn.Conv2d(3, width, 3, 1, 1, bias=False)
    m.maxpool = torch.nn.Identity()
    m.bn1 = torch.nn.BatchNorm2d(width)
    m.fc = torch.nn.Linear(8 * width, classes)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.copy_(0.1 * torch.randn(mod.num_features, generator=g))
                mod.running_var.copy_(0.5 + torch.rand(mod.num_features, generator=g))
    return m.eval()


def make_model(kind, work, n):
    """(torch model, cr model file or state dict to import, --data spec, x, y, eps by norm)."""
    torch.manual_seed(0)
    if kind in ("fcn", "cnn"):
        xtr, ytr = mnist("train")
        xte, yte = mnist("test")
        if kind == "fcn":
            spec = {"arch": {"kind": "fcn", "width": 400, "depth": 1}, "input": [1, 28, 28],
                    "num_classes": 10}
            epochs = 5
        else:
            spec = {"arch": {"kind": "cnn", "channels": [16, 32], "hidden": 128},
                    "input": [1, 28, 28], "num_classes": 10}
            epochs = 3
        model = train(cr_models.build(spec), xtr, ytr, epochs, 0)
        path = os.path.join(work, f"{kind}.safetensors")
        save_cr(model, spec, path)
        return model, path, "mnist", xte[:n], yte[:n], {"linf": 0.1, "l2": 1.5}
    model = narrow_resnet18(16, 10)
    g = torch.Generator().manual_seed(4)
    x = torch.randint(0, 256, (n, 3, 32, 32), generator=g).float() / 255
    with torch.no_grad():
        y = model(x).argmax(1)
    d = os.path.join(work, "cifar")
    write_cifar(d, x, y)
    sd = os.path.join(work, "resnet_sd.safetensors")
    export.export(model, sd)
    return model, sd, f"cifar10:{d}", x, y, {"linf": 1 / 255, "l2": 0.1}


def cr_model_file(kind, path, xtask):
    """The ResNet comes in through `xtask import`; the others are cr model files already."""
    if kind != "resnet":
        return path
    out = path.replace("_sd.safetensors", ".safetensors")
    subprocess.run([xtask, "import", path, "--arch", "torchvision-resnet18-cifar", "--input",
                    "3,32,32", "--classes", "10", "--out", out], check=True)
    return out


def cached(work, name, compute):
    """`compute()` once per work folder (the references take minutes)."""
    f = os.path.join(work, f"{name}.json")
    if os.path.exists(f):
        with open(f) as fh:
            r = json.load(fh)
        return torch.tensor(r["flags"]), r["seconds"]
    flags, secs = compute()
    with open(f, "w") as fh:
        json.dump({"flags": flags.tolist(), "seconds": secs}, fh)
    return flags, secs


def cr_attack(xtask, path, data, n, norm, eps):
    out = subprocess.run([xtask, "attack", "--model", path, "--data", data, "--first", str(n),
                          "--attack", "autoattack", "--norm", norm, "--eps", repr(eps), "--json"],
                         check=True, capture_output=True, text=True, env={**os.environ, "CR_LOG": "warn"})
    r = json.loads(out.stdout)
    a = r["attacks"][0]
    return a, r


def reference(fra31, model, x, y, norm, eps):
    sys.path.insert(0, fra31)
    from autoattack import AutoAttack

    adversary = AutoAttack(model, norm={"linf": "Linf", "l2": "L2"}[norm], eps=eps,
                           version="standard", seed=0, verbose=False, device="cpu")
    t = time.perf_counter()
    labels = adversary.run_standard_evaluation(x, y, bs=500, return_labels=True)[1]
    return (labels == y), time.perf_counter() - t


def torchattacks_aa(model, x, y, norm, eps):
    import torchattacks

    atk = torchattacks.AutoAttack(model, norm={"linf": "Linf", "l2": "L2"}[norm], eps=eps,
                                  version="standard", n_classes=10, seed=0)
    t = time.perf_counter()
    adv = atk(x, y)
    secs = time.perf_counter() - t
    with torch.no_grad():
        return model(adv).argmax(1) == y, secs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--xtask", default=os.path.join(ROOT, "target/release/xtask"))
    p.add_argument("--fra31", help="a checkout of fra31/auto-attack (skipped without)")
    p.add_argument("--first", type=int, default=500)
    p.add_argument("--kinds", default="fcn,cnn,resnet")
    p.add_argument("--norms", default="linf,l2")
    p.add_argument("--work", help="keep models, data and the references' results here and "
                   "reuse them (default: a temporary folder)")
    p.add_argument("--references-only", action="store_true",
                   help="run only fra31 and torchattacks (into --work), no cr")
    a = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = a.work or tmp
        os.makedirs(work, exist_ok=True)
        for kind in a.kinds.split(","):
            model, path, data, x, y, eps = make_model(kind, work, a.first)
            for p_ in model.parameters():
                p_.requires_grad_(False)
            with torch.no_grad():
                clean = model(x).argmax(1) == y
            if not a.references_only:
                path = cr_model_file(kind, path, a.xtask)
            for norm in a.norms.split(","):
                e = eps[norm]
                tag = f"{kind}_{norm}_{a.first}"
                ta, ts = cached(work, f"torchattacks_{tag}", lambda: torchattacks_aa(model, x, y, norm, e))
                if a.fra31:
                    fr, fs = cached(work, f"fra31_{tag}", lambda: reference(a.fra31, model, x, y, norm, e))
                if a.references_only:
                    print(tag, "torchattacks", ta.float().mean().item(), ts,
                          "fra31", fr.float().mean().item() if a.fra31 else None, flush=True)
                    continue
                line, report = cr_attack(a.xtask, path, data, a.first, norm, e)
                cr_flags = torch.tensor([c and b is None for c, b in
                                         zip(clean.tolist(), line["broken_by"])])
                row = {"model": kind, "norm": norm, "eps": e, "n": a.first,
                       "selection": report.get("selection"),
                       "clean": clean.float().mean().item(),
                       "cr": {"robust": line["robust_accuracy"], "seconds": line["seconds"],
                              "passes": line.get("passes")},
                       "torchattacks": {"robust": ta.float().mean().item(), "seconds": ts,
                                        "same_flags": int((ta == cr_flags).sum())}}
                if a.fra31:
                    row["fra31"] = {"robust": fr.float().mean().item(), "seconds": fs,
                                    "same_flags": int((fr == cr_flags).sum())}
                print(json.dumps(row), flush=True)
                rows.append(row)
    if a.references_only:
        return
    print(f"\n{'model':<7} {'norm':<5} {'eps':>7} {'clean':>6} | {'cr':>6} {'s':>6} | "
          f"{'fra31':>6} {'s':>6} {'same':>7} | {'t.att':>6} {'s':>6} {'same':>7}")
    for r in rows:
        f = r.get("fra31", {"robust": float("nan"), "seconds": float("nan"), "same_flags": 0})
        t = r["torchattacks"]
        print(f"{r['model']:<7} {r['norm']:<5} {r['eps']:>7.4f} {r['clean']:>6.3f} | "
              f"{r['cr']['robust']:>6.3f} {r['cr']['seconds']:>6.1f} | {f['robust']:>6.3f} "
              f"{f['seconds']:>6.1f} {f['same_flags']:>3}/{r['n']:<3} | {t['robust']:>6.3f} "
              f"{t['seconds']:>6.1f} {t['same_flags']:>3}/{r['n']:<3}")


if __name__ == "__main__":
    main()
