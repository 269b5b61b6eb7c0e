"""Loads cr model files into the PyTorch twins and checks the logits cr recorded.

    python3 python/check_load.py model.safetensors [...]

For files written by `cargo run -p cr-models --example write_for_torch`, which store the logits
of a constant 0.5 input under the metadata key `cr.logits_of_0.5`.
"""

import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cr_models  # noqa: E402

for path in sys.argv[1:]:
    with safe_open(path, "pt") as f:
        meta = f.metadata()
    spec = json.loads(meta["cr.model"])
    model = cr_models.build(spec)
    model.load_state_dict(load_file(path), strict=True)
    model.eval()
    c, h, w = spec["input"]
    with torch.no_grad():
        got = model(torch.full((1, c, h, w), 0.5)).flatten().tolist()
    want = json.loads(meta["cr.logits_of_0.5"])
    err = max(abs(a - b) for a, b in zip(got, want))
    print(f"{path}: strict load OK, max |torch - cr| logit difference {err:.2e}")
    assert err < 1e-4
