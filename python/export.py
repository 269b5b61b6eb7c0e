"""Writes a PyTorch module's state dict as safetensors, for `cargo xtask import`.

    python3 python/export.py CHECKPOINT.pt OUT.safetensors
    python3 python/export.py --torchvision resnet18 [--weights DEFAULT] OUT.safetensors

CHECKPOINT.pt is anything `torch.load` gives a state dict for: a saved `state_dict()`, a
whole module, or a dict holding one under `state_dict` / `model` / `model_state_dict`
(RobustBench's checkpoints). Floating tensors are written as contiguous float32; integer
buffers (`num_batches_tracked`) are kept (cr drops them). From Python code, call
`export(module_or_state_dict, path)`.

Needs torch (and torchvision only for --torchvision).
"""

import argparse
import sys

import torch
from safetensors.torch import save_file


def state_dict_of(obj):
    """The state dict of a module, of a checkpoint dict, or the dict itself."""
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, (dict, torch.nn.Module)):
                return state_dict_of(inner)
        if all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise SystemExit(f"not a module, a state dict or a checkpoint holding one: {type(obj)}")


def export(obj, path, metadata=None):
    """Saves the state dict of `obj` (a module or a state dict) to `path` as safetensors."""
    tensors = {}
    for key, value in state_dict_of(obj).items():
        value = value.detach().cpu()
        if value.is_floating_point():
            value = value.float()
        tensors[key] = value.contiguous()
    save_file(tensors, path, metadata=metadata)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", nargs="?", help="a torch.save'd state dict, module or checkpoint")
    p.add_argument("out", help="the .safetensors file to write")
    p.add_argument("--torchvision", metavar="NAME", help="a torchvision.models constructor")
    p.add_argument("--weights", default=None, help="its weights (e.g. DEFAULT; none: random)")
    a = p.parse_args(argv)
    if a.torchvision:
        import torchvision

        module = getattr(torchvision.models, a.torchvision)(weights=a.weights)
        export(module, a.out, {"source": f"torchvision.models.{a.torchvision}"})
    elif a.checkpoint:
        obj = torch.load(a.checkpoint, map_location="cpu", weights_only=False)
        export(obj, a.out, {"source": a.checkpoint})
    else:
        p.error("give a CHECKPOINT or --torchvision NAME")


if __name__ == "__main__":
    main(sys.argv[1:])
