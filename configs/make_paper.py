"""Writes configs/paper/*.toml: the paper's grid (SPEC §6) on the full data sets, for CUDA.

The MNIST rows (motivating, boundaries, bound-vs-gap) are the cpu configs on the full MNIST
files (`--data-dir DIR` with DIR/mnist); the CIFAR rows use the paper's models and budgets:
l-inf 2/255 and l2 0.125 for standard training, 8/255 and 0.5 for adversarial training, l-inf
for neuron and l2 for spectral compressibility, the other norm as the cross-check. Training
follows SPEC §4's defaults (AdamW 1e-3, weight decay 0.01) with cosine annealing, batch 128,
crop+flip augmentation on the CIFAR/SVHN sets. Run from the repository root:
python3 configs/make_paper.py"""

import copy
import os
import tomllib

from make_smoke import dump_table, fmt

DST = "configs/paper"
LINF_STD, L2_STD = 2 / 255, 0.125
LINF_AT, L2_AT = 8 / 255, 0.5


def apgd(norm, eps):
    return {"attack": "apgd-ce", "norm": norm, "eps": eps}


def attacks(norm, adversarial=False):
    """Main attack in `norm`, the other norm as the cross-check."""
    li, l2 = (LINF_AT, L2_AT) if adversarial else (LINF_STD, L2_STD)
    main, other = (apgd("linf", li), apgd("l2", l2)) if norm == "linf" else (apgd("l2", l2), apgd("linf", li))
    return {"attacks": [main], "cross_check": [other]}


def cifar_run(data, arch, classes=10, epochs=100):
    return {
        "init_seed": 0,
        "data": {"name": data},
        "model": {"input": [3, 32, 32], "num_classes": classes, "arch": arch},
        "train": {
            "epochs": epochs,
            "batch_size": 128,
            "seed": 0,
            "augment": True,
            "schedule": {"kind": "cosine"},
        },
        "eval": attacks("linf"),
    }


RESNET18 = {"kind": "resnet", "blocks": [2, 2, 2, 2]}
VGG16 = {"kind": "vgg", "config": [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0]}
# torchvision's wide_resnet101_2 (the paper's WRN-101-2): bottleneck blocks [3, 4, 23, 3] with
# 128 channels per group, here with the CIFAR stem.
WRN101_2 = {"kind": "resnet", "blocks": [3, 4, 23, 3], "bottleneck": True, "width_per_group": 128}
FCN_ADVCOMP = {"kind": "fcn", "width": 2000, "depth": 5}
VIT = {"kind": "vit", "patch": 4, "dim": 256, "depth": 6, "heads": 8, "mlp_dim": 512}
SI_ALPHAS = [0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
GL_ALPHAS = [0.0, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2]


def si_sweep(values=SI_ALPHAS, name="neuron"):
    return {
        "name": name,
        "key": "regularize.scale_invariant_group_lasso.alpha",
        "label": "scale-invariant group lasso alpha",
        "values": values,
    }


def experiments():
    out = []
    # The MNIST rows: the cpu configs on the full MNIST files, full test set.
    for id_ in ("motivating", "boundaries", "bound-vs-gap"):
        e = tomllib.load(open(f"configs/cpu/{id_}.toml", "rb"))
        e["run"]["eval"].pop("test_samples", None)
        e["run"]["train"]["epochs"] = 50
        e["notes"] = "paper scale: the cpu configuration on the full MNIST files (--data-dir DIR with DIR/mnist), full test set."
        out.append(e)

    run = cifar_run("cifar10", FCN_ADVCOMP)
    run["regularize"] = {"frobenius": {"layers": "hidden", "reference": "dense"}}
    out.append({
        "id": "fcn-standard", "figure": "Fig 5 (top)",
        "title": "FCN 5x2000 on CIFAR-10: neuron and spectral compressibility",
        "claim": "Robust accuracy falls as group lasso (l-inf) or a lower layer rank (l2) makes the FCN more compressible, with standard accuracy held.",
        "notes": "advcomp's FCN (width 2000, depth 5); l-inf APGD-CE 2/255 for the group-lasso sweep, l2 APGD-CE 0.125 for the rank sweep.",
        "seeds": 3, "run": run,
        "sweep": [
            {"name": "neuron", "key": "regularize.group_lasso.alpha", "label": "group lasso alpha", "values": GL_ALPHAS},
            {"name": "spectral", "key": "model.arch.layer_rank", "label": "layer rank",
             "values": ["none", 512, 256, 128, 64, 32, 16],
             "set": {"eval.attacks": attacks("l2")["attacks"], "eval.cross_check": attacks("l2")["cross_check"]}},
        ],
    })

    for id_, data, arch, classes, title in (
        ("cnn-standard", "cifar10", RESNET18, 10, "ResNet18 on CIFAR-10"),
        ("cnn-vgg16", "cifar10", VGG16, 10, "VGG16-BN on CIFAR-10"),
        ("cnn-wrn", "cifar10", WRN101_2, 10, "WRN-101-2 on CIFAR-10"),
        ("cnn-cifar100", "cifar100", RESNET18, 100, "ResNet18 on CIFAR-100"),
        ("cnn-svhn", "svhn", RESNET18, 10, "ResNet18 on SVHN"),
    ):
        out.append({
            "id": id_, "figure": "Fig 5 (bottom)",
            "title": f"{title}: scale-invariant group lasso",
            "claim": "Filter compressibility induced by scale-invariant group lasso lowers l-inf robust accuracy, with standard accuracy held.",
            "notes": "l-inf APGD-CE 2/255, l2 0.125 as the cross-check; first conv and head not regularised.",
            "seeds": 3, "run": cifar_run(data, arch, classes), "sweep": [si_sweep()],
        })

    out.append({
        "id": "vit", "figure": "Fig 6 (left)",
        "title": "ViT (patch 4) on CIFAR-10: scale-invariant group lasso on the MLP layers",
        "claim": "Neuron compressibility of the ViT's MLP layers lowers its robust accuracy, as for CNNs.",
        "notes": "ViT with patch 4, width 256, depth 6, 8 heads, MLP 512.",
        "seeds": 3, "run": cifar_run("cifar10", VIT), "sweep": [si_sweep()],
    })

    run = cifar_run("cifar10", RESNET18)
    run["adversarial"] = {"norm": "linf", "eps": LINF_AT, "steps": 10, "step_size": 2 / 255}
    run["eval"] = attacks("linf", adversarial=True)
    out.append({
        "id": "adv-training", "figure": "Fig 7 (left)",
        "title": "ResNet18 on CIFAR-10 under PGD adversarial training",
        "claim": "Adversarial training does not remove the effect: robust accuracy still falls as neuron compressibility rises.",
        "notes": "PGD-10 adversarial training at l-inf 8/255 (step 2/255); evaluated with l-inf APGD-CE 8/255 and l2 0.5.",
        "seeds": 3, "run": run, "sweep": [si_sweep()],
    })

    run = cifar_run("cifar10", FCN_ADVCOMP)
    run["regularize"] = {"frobenius": {"layers": "hidden", "reference": "dense"}}
    run["eval"]["measures"] = ["uap"]
    run["eval"]["settings"] = {"uap": {"norm": "linf", "eps": 8 / 255, "fit_samples": 5000}}
    out.append({
        "id": "uae", "figure": "Fig 7 (centre)",
        "title": "Universal perturbations: compressibility vs parameter scale (FCN, CIFAR-10)",
        "claim": "Only compressibility, not the Frobenius scale, creates universal perturbations.",
        "notes": "l-inf UAP with xi = 8/255 fitted on 5,000 test images, measured on the rest.",
        "seeds": 3, "run": run,
        "sweep": [
            {"name": "alpha", "key": "regularize.group_lasso.alpha", "label": "group lasso alpha", "values": GL_ALPHAS},
            {"name": "c", "key": "regularize.frobenius.multiplier", "label": "Frobenius scale c", "values": [0.25, 0.5, 1.0, 2.0, 4.0]},
        ],
    })

    run = cifar_run("cifar100", RESNET18, 100)
    run["transfer"] = {"data": {"name": "cifar10"}, "train": {"epochs": 30, "batch_size": 128, "seed": 0}}
    out.append({
        "id": "transfer", "figure": "Fig 7 (right)",
        "title": "Transfer: ResNet18 pretrained on CIFAR-100, linear head on CIFAR-10",
        "claim": "Neuron compressibility induced during pretraining lowers the robustness of a linear head trained downstream.",
        "notes": "Head trained on the frozen encoder; l-inf APGD-CE 2/255.",
        "seeds": 3, "run": run, "sweep": [si_sweep()],
    })

    for id_, methods, title, claim, sweep in (
        ("pruning", ["layerwise", "global"], "Pruning an adversarially trained ResNet18: baseline vs compressible",
         "The compressible model retains standard and robust accuracy better as the pruning ratio grows.",
         si_sweep([0.0, 0.1], name="model")),
        ("robust-pruning", ["layerwise", "eps-target"], "Epsilon-targeted pruning and spread control",
         "Pruning to a target epsilon per layer, on a model trained with spread control, retains robustness best.",
         {"name": "spread", "key": "regularize.spread.gamma", "label": "spread control gamma", "values": [0.0, 1e-2]}),
    ):
        run = cifar_run("cifar10", RESNET18)
        run["adversarial"] = {"norm": "linf", "eps": LINF_AT, "steps": 10, "step_size": 2 / 255}
        run["eval"] = attacks("linf", adversarial=True)
        run["eval"]["measures"] = ["pruning"]
        run["eval"]["settings"] = {
            "attack": {"attack": "pgd", "norm": "linf", "eps": LINF_AT, "steps": 20},
            "pruning": {"ratios": [0.0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 0.95], "methods": methods, "max_layer_ratio": 0.97},
        }
        if id_ == "robust-pruning":
            run["regularize"] = {"scale_invariant_group_lasso": {"alpha": 0.1}}
        out.append({
            "id": id_, "figure": "Fig 8 (left)" if id_ == "pruning" else "Fig 8 (right)",
            "title": title, "claim": claim,
            "notes": "PGD-10 adversarial training at l-inf 8/255; robust accuracy under PGD-20 at 8/255 per pruning ratio.",
            "seeds": 1, "run": run, "sweep": [sweep],
        })
    return out


def main():
    os.makedirs(DST, exist_ok=True)
    for e in experiments():
        lines = [
            "# Paper scale (full data sets from --data-dir, CUDA). Generated by configs/make_paper.py.",
        ]
        for k in ("id", "figure", "title", "claim", "notes", "seeds"):
            lines.append(f"{k} = {fmt(e[k])}")
        dump_table("run", copy.deepcopy(e["run"]), lines)
        for s in e["sweep"]:
            lines.append("\n[[sweep]]")
            for k in ("name", "key", "label"):
                lines.append(f"{k} = {fmt(s[k])}")
            lines.append(f"values = {fmt(s['values'])}")
            if "set" in s:
                lines.append("\n[sweep.set]")
                for k, v in s["set"].items():
                    lines.append(f'"{k}" = {fmt(v)}')
        open(os.path.join(DST, e["id"] + ".toml"), "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
