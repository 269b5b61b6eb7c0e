"""Writes the seed corpora of the fuzz targets to fuzz/corpus/<target>/ (git-ignored).

    python3 fuzz/seeds.py [--xtask target/debug/xtask]

Small valid inputs of every format (IDX plain and gzip, CIFAR-10/100 records, SVHN .mat plain
and compressed — scipy needed for those —, the committed tiny model file, the configs in
configs/), and a training checkpoint of tests/fixtures/analyze/tiny.toml taken by killing
`xtask train` once its first checkpoint exists (skipped without an xtask binary).
"""

import gzip
import io
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
REPO = FUZZ.parent
CORPUS = FUZZ / "corpus"


def put(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def idx_images(n, h, w):
    return struct.pack(">IIII", 0x803, n, h, w) + bytes((i * 7) % 256 for i in range(n * h * w))


def idx_labels(n):
    return struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n))


def main():
    xtask = None
    if "--xtask" in sys.argv:
        xtask = sys.argv[sys.argv.index("--xtask") + 1]
    # idx: selector bit 0 labels, bit 1 gzip, bit 2 UCI 8x8 levels.
    for sel, data in [
        (0, idx_images(3, 28, 28)),
        (1, idx_labels(5)),
        (4, struct.pack(">IIII", 0x803, 2, 8, 8) + bytes([(255 * v + 8) // 16 for v in range(17)] * 8)[:128]),
    ]:
        put("idx", f"plain-{sel}", bytes([sel]) + data)
        put("idx", f"gz-{sel}", bytes([sel | 2]) + gzip.compress(data, mtime=0))
    # cifar: selector 0 CIFAR-10, 1 CIFAR-100 fine, 2 coarse.
    pixels = bytes(i % 251 for i in range(3072))
    put("cifar", "cifar10", b"\x00" + b"\x03" + pixels + b"\x09" + pixels)
    put("cifar", "cifar100", b"\x01" + b"\x05\x63" + pixels + b"\x13\x00" + pixels)
    put("cifar", "coarse", b"\x02" + b"\x05\x63" + pixels)
    # svhn_mat
    try:
        import numpy as np
        import scipy.io

        x = (np.arange(32 * 32 * 3 * 2) % 256).astype(np.uint8).reshape(32, 32, 3, 2)
        y = np.array([[1.0], [10.0]])
        for comp in (False, True):
            b = io.BytesIO()
            scipy.io.savemat(b, {"X": x, "y": y}, do_compression=comp)
            put("svhn_mat", f"svhn-{'z' if comp else 'plain'}.mat", b.getvalue())
        b = io.BytesIO()
        scipy.io.savemat(b, {"X": x.astype(np.float64), "y": y.astype(np.int32)})
        put("svhn_mat", "svhn-double.mat", b.getvalue())
    except ImportError:
        print("no scipy: svhn_mat has no seeds", file=sys.stderr)
    # model_file
    put("model_file", "tiny.safetensors", (REPO / "tests/fixtures/analyze/model.safetensors").read_bytes())
    # state_dict: the first byte picks the architecture (fuzz_targets/state_dict.rs's ARCHS)
    fixtures = REPO / "crates/cr-models/tests/fixtures/import"
    for pick, name in [(0, "tv_resnet18_w8"), (1, "tv_resnet_cifar_bottleneck"), (2, "tv_vgg_bn_small"),
                       (3, "rb_wrn_10_1"), (4, "rb_preact_v2_bn"), (5, "cr_fcn")]:
        put("state_dict", name, bytes([pick]) + (fixtures / f"{name}.safetensors").read_bytes())
    # config: selector 0 run config, 1 experiment file, 2 training config.
    for p in sorted((REPO / "configs").rglob("*.toml")) + [REPO / "tests/fixtures/analyze/tiny.toml"]:
        text = p.read_bytes()
        sel = 1 if p.parent.name in ("smoke", "cpu", "paper") else 0
        put("config", f"{p.parent.name}-{p.stem}", bytes([sel]) + text)
    put("config", "train", b"\x02epochs = 3\nbatch_size = 8\nseed = 1\n[optimizer]\nkind = \"sgd\"\nlr = 0.1\nmomentum = 0.9\n")
    # checkpoint
    if xtask:
        with tempfile.TemporaryDirectory() as out:
            ckpt = Path(out) / "train.ckpt"
            p = subprocess.Popen(
                [xtask, "train", "--config", str(REPO / "tests/fixtures/analyze/tiny.toml"), "--out", out, "-q"],
                cwd=REPO,
            )
            for _ in range(600):
                if ckpt.exists():
                    time.sleep(0.3)
                    break
                time.sleep(0.05)
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            if ckpt.exists():
                put("checkpoint", "tiny.ckpt", ckpt.read_bytes())
            else:
                print("no checkpoint written", file=sys.stderr)


if __name__ == "__main__":
    main()
