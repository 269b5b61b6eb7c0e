"""PyTorch twins of cr's architectures, with the same state-dict keys and layouts.

A model file written by cr (`model.safetensors`) loads into these modules directly:

    import json
    from safetensors import safe_open
    from safetensors.torch import load_file
    import cr_models

    with safe_open("model.safetensors", "pt") as f:
        spec = json.loads(f.metadata()["cr.model"])
    model = cr_models.build(spec)
    model.load_state_dict(load_file("model.safetensors"))
    model.eval()

Inputs are NCHW float tensors in [0, 1]; `model(x)` gives logits, `model.features(x)` the
representation Phi(x); a spec with `normalize` (per-channel mean/std, cr's default for trained
runs) normalises the inputs inside the model first. `spec` is the JSON cr stores under `cr.model`. ResNet keys follow
torchvision (a torchvision resnet18 with a 3x3 stride-1 `conv1` and no max-pool loads the same
weights).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class LowRankLinear(nn.Module):
    def __init__(self, d_in, d_out, rank, bias):
        super().__init__()
        self.down = nn.Linear(d_in, rank, bias=False)
        self.up = nn.Linear(rank, d_out, bias=bias)

    def forward(self, x):
        return self.up(self.down(x))


def dense(d_in, d_out, rank, bias):
    return LowRankLinear(d_in, d_out, rank, bias) if rank else nn.Linear(d_in, d_out, bias=bias)


class LowRankConv(nn.Module):
    def __init__(self, c_in, c_out, k, s, p, bias, rank):
        super().__init__()
        self.down = nn.Conv2d(c_in, rank, k, s, p, bias=False)
        self.up = nn.Conv2d(rank, c_out, 1, 1, 0, bias=bias)

    def forward(self, x):
        return self.up(self.down(x))


def conv(c_in, c_out, k, s, p, bias, rank=None):
    if rank:
        return LowRankConv(c_in, c_out, k, s, p, bias, rank)
    return nn.Conv2d(c_in, c_out, k, s, p, bias=bias)


class Fcn(nn.Module):
    def __init__(self, d_in, width, depth, classes, bias, rank, pruned=None):
        super().__init__()
        pruned = pruned or {}
        layers, d = [], d_in
        for i in range(depth):
            w = pruned.get(f"layers.{i}", width)
            layers.append(dense(d, w, rank, bias))
            d = w
        self.layers = nn.ModuleList(layers)
        self.head = nn.Linear(d, classes, bias=bias)

    def features(self, x):
        h = x.flatten(1)
        for layer in self.layers:
            h = F.relu(layer(h))
        return h

    def forward(self, x):
        return self.head(self.features(x))


class Cnn(nn.Module):
    def __init__(self, input, channels, hidden, classes, rank, pruned=None):
        super().__init__()
        pruned = pruned or {}
        c, h, w = input
        convs, c_in = [], c
        for i, c_out in enumerate(channels):
            c_out = pruned.get(f"convs.{i}", c_out)
            convs.append(conv(c_in, c_out, 3, 1, 1, True, None if i == 0 else rank))
            c_in = c_out
        self.convs = nn.ModuleList(convs)
        n = len(channels)
        flat = c_in * (h >> n) * (w >> n)
        hidden = pruned.get("fc.0", hidden) if hidden > 0 else 0
        self.fc = nn.ModuleList([dense(flat, hidden, rank, True)] if hidden > 0 else [])
        self.head = nn.Linear(hidden if hidden > 0 else flat, classes)

    def features(self, x):
        for c in self.convs:
            x = F.max_pool2d(F.relu(c(x)), 2)
        z = x.flatten(1)
        for fc in self.fc:
            z = F.relu(fc(z))
        return z

    def forward(self, x):
        return self.head(self.features(x))


def downsample(c_in, c_out, stride):
    if stride == 1 and c_in == c_out:
        return None
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))


class BasicBlock(nn.Module):
    def __init__(self, c_in, planes, stride, rank, inner=None):
        super().__init__()
        inner = inner or planes
        self.conv1 = conv(c_in, inner, 3, stride, 1, False, rank)
        self.bn1 = nn.BatchNorm2d(inner)
        self.conv2 = conv(inner, planes, 3, 1, 1, False, rank)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample(c_in, planes, stride)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.downsample is None else self.downsample(x)
        return F.relu(out + sc)


class Bottleneck(nn.Module):
    def __init__(self, c_in, planes, stride, width_per_group, rank, i1=None, i2=None):
        super().__init__()
        inner = planes * width_per_group // 64
        i1, i2 = i1 or inner, i2 or inner
        out = planes * 4
        self.conv1 = nn.Conv2d(c_in, i1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(i1)
        self.conv2 = conv(i1, i2, 3, stride, 1, False, rank)
        self.bn2 = nn.BatchNorm2d(i2)
        self.conv3 = nn.Conv2d(i2, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = downsample(c_in, out, stride)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        sc = x if self.downsample is None else self.downsample(x)
        return F.relu(out + sc)


class ResNet(nn.Module):
    def __init__(self, c_in, blocks, bottleneck, width, width_per_group, classes, rank, pruned=None,
                 stem="cifar"):
        super().__init__()
        pruned = pruned or {}
        exp = 4 if bottleneck else 1
        # "imagenet": torchvision's 7x7/2 conv + 3x3/2 max-pool; "cifar": 3x3/1, no max-pool.
        self.imagenet_stem = stem == "imagenet"
        if self.imagenet_stem:
            self.conv1 = nn.Conv2d(c_in, width, 7, 2, 3, bias=False)
        else:
            self.conv1 = nn.Conv2d(c_in, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        in_planes = width
        stages = []
        for i, (n, stride) in enumerate(zip(blocks, [1, 2, 2, 2])):
            planes = width * 2**i
            layer = []
            for j in range(n):
                s = stride if j == 0 else 1
                key = f"layer{i + 1}.{j}."
                if bottleneck:
                    layer.append(Bottleneck(in_planes, planes, s, width_per_group, rank,
                                            pruned.get(key + "conv1"), pruned.get(key + "conv2")))
                else:
                    layer.append(BasicBlock(in_planes, planes, s, rank, pruned.get(key + "conv1")))
                in_planes = planes * exp
            stages.append(nn.Sequential(*layer))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(8 * width * exp, classes)

    def features(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        if self.imagenet_stem:
            h = F.max_pool2d(h, 3, 2, 1)
        h = self.layer4(self.layer3(self.layer2(self.layer1(h))))
        return h.mean(dim=(2, 3))

    def forward(self, x):
        return self.fc(self.features(x))


class VggBlock(nn.Module):
    def __init__(self, c_in, c_out, rank):
        super().__init__()
        self.conv = conv(c_in, c_out, 3, 1, 1, False, rank)
        self.bn = nn.BatchNorm2d(c_out)


class Vgg(nn.Module):
    def __init__(self, c_in, config, classes, rank, pruned=None):
        super().__init__()
        pruned = pruned or {}
        blocks, pools, c = [], [], c_in
        for v in config:
            if v == 0:
                if pools:
                    pools[-1] = True
                continue
            v = pruned.get(f"blocks.{len(blocks)}.conv", v)
            blocks.append(VggBlock(c, v, rank if blocks else None))
            pools.append(False)
            c = v
        self.blocks = nn.ModuleList(blocks)
        self.pools = pools
        self.classifier = nn.Linear(c, classes)

    def features(self, x):
        for block, pool in zip(self.blocks, self.pools):
            x = F.relu(block.bn(block.conv(x)))
            if pool:
                x = F.max_pool2d(x, 2)
        return x.mean(dim=(2, 3))

    def forward(self, x):
        return self.classifier(self.features(x))


class WrnBlock(nn.Module):
    def __init__(self, c_in, c_out, stride, rank, inner=None):
        super().__init__()
        inner = inner or c_out
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = conv(c_in, inner, 3, stride, 1, False, rank)
        self.bn2 = nn.BatchNorm2d(inner)
        self.conv2 = conv(inner, c_out, 3, 1, 1, False, rank)
        need = c_in != c_out or stride != 1
        self.shortcut = nn.ModuleList([nn.Conv2d(c_in, c_out, 1, stride, bias=False)] if need else [])

    def forward(self, x):
        o = F.relu(self.bn1(x))
        y = self.conv2(F.relu(self.bn2(self.conv1(o))))
        return y + (self.shortcut[0](o) if len(self.shortcut) else x)


class Wrn(nn.Module):
    def __init__(self, c_in, depth, widen, classes, rank, pruned=None):
        super().__init__()
        pruned = pruned or {}
        n = (depth - 4) // 6
        widths = [16 * widen, 32 * widen, 64 * widen]
        self.conv1 = nn.Conv2d(c_in, 16, 3, 1, 1, bias=False)
        c, groups = 16, []
        for gi, (width, stride) in enumerate(zip(widths, [1, 2, 2])):
            g = []
            for i in range(n):
                inner = pruned.get(f"block{gi + 1}.{i}.conv1")
                g.append(WrnBlock(c, width, stride if i == 0 else 1, rank, inner))
                c = width
            groups.append(nn.Sequential(*g))
        self.block1, self.block2, self.block3 = groups
        self.bn = nn.BatchNorm2d(widths[2])
        self.fc = nn.Linear(widths[2], classes)

    def features(self, x):
        h = self.block3(self.block2(self.block1(self.conv1(x))))
        return F.relu(self.bn(h)).mean(dim=(2, 3))

    def forward(self, x):
        return self.fc(self.features(x))


class PreactBlock(nn.Module):
    """RobustBench's PreActBlock (shortcut from x) or PreActBlockV2 (from relu(bn1(x)))."""

    def __init__(self, c_in, c_out, stride, out_shortcut, inner=None):
        super().__init__()
        inner = inner or c_out
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, inner, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(inner)
        self.conv2 = nn.Conv2d(inner, c_out, 3, 1, 1, bias=False)
        need = c_in != c_out or stride != 1
        self.shortcut = nn.ModuleList([nn.Conv2d(c_in, c_out, 1, stride, bias=False)] if need else [])
        self.out_shortcut = out_shortcut

    def forward(self, x):
        o = F.relu(self.bn1(x))
        sc = self.shortcut[0](o if self.out_shortcut else x) if len(self.shortcut) else x
        return self.conv2(F.relu(self.bn2(self.conv1(o)))) + sc


class PreactResNet(nn.Module):
    def __init__(self, c_in, blocks, width, classes, out_shortcut, bn_before_fc, pruned=None):
        super().__init__()
        pruned = pruned or {}
        self.conv1 = nn.Conv2d(c_in, width, 3, 1, 1, bias=False)
        c = width
        for s, (n, stride) in enumerate(zip(blocks, [1, 2, 2, 2])):
            planes, stage = width << s, []
            for i in range(n):
                inner = pruned.get(f"layer{s + 1}.{i}.conv1")
                stage.append(PreactBlock(c, planes, stride if i == 0 else 1, out_shortcut, inner))
                c = planes
            setattr(self, f"layer{s + 1}", nn.Sequential(*stage))
        self.bn = nn.BatchNorm2d(c) if bn_before_fc else None
        self.linear = nn.Linear(c, classes)

    def features(self, x):
        h = self.layer4(self.layer3(self.layer2(self.layer1(self.conv1(x)))))
        if self.bn is not None:
            h = F.relu(self.bn(h))
        return h.mean(dim=(2, 3))

    def forward(self, x):
        return self.linear(self.features(x))


class VggTv(nn.Module):
    """torchvision's VGG-BN layout under cr's names (blocks.j.conv with bias, fc1, fc2, head)."""

    def __init__(self, c_in, config, hidden, classes, pruned=None):
        super().__init__()
        pruned = pruned or {}
        blocks, pools, c = [], [], c_in
        for v in config:
            if v == 0:
                if pools:
                    pools[-1] = True
                continue
            v = pruned.get(f"blocks.{len(blocks)}.conv", v)
            b = nn.Module()
            b.conv = nn.Conv2d(c, v, 3, 1, 1, bias=True)
            b.bn = nn.BatchNorm2d(v)
            blocks.append(b)
            pools.append(False)
            c = v
        self.blocks = nn.ModuleList(blocks)
        self.pools = pools
        h1 = pruned.get("fc1", hidden)
        h2 = pruned.get("fc2", hidden)
        self.fc1 = nn.Linear(c * 49, h1)
        self.fc2 = nn.Linear(h1, h2)
        self.head = nn.Linear(h2, classes)

    def features(self, x):
        for block, pool in zip(self.blocks, self.pools):
            x = F.relu(block.bn(block.conv(x)))
            if pool:
                x = F.max_pool2d(x, 2)
        x = F.adaptive_avg_pool2d(x, (7, 7)).flatten(1)
        return F.relu(self.fc2(F.relu(self.fc1(x))))

    def forward(self, x):
        return self.head(self.features(x))


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.heads = heads

    def forward(self, x):
        b, n, d = x.shape
        h = self.heads
        qkv = self.qkv(x).reshape(b, n, 3, h, d // h).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1) / math.sqrt(d // h)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)


class VitBlock(nn.Module):
    def __init__(self, dim, heads, mlp_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_dim)

    def forward(self, z):
        z = z + self.attn(self.norm1(z))
        return z + self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm2(z))))


class PatchEmbed(nn.Module):
    def __init__(self, c, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(c, dim, patch, patch)


class Vit(nn.Module):
    def __init__(self, input, patch, dim, depth, heads, mlp_dim, classes, pruned=None):
        super().__init__()
        pruned = pruned or {}
        c, h, w = input
        self.patch_embed = PatchEmbed(c, dim, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (h // patch) * (w // patch) + 1, dim))
        self.blocks = nn.ModuleList(
            [VitBlock(dim, heads, pruned.get(f"blocks.{i}.mlp.fc1", mlp_dim)) for i in range(depth)]
        )
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def features(self, x):
        t = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        z = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), t], dim=1) + self.pos_embed
        for blk in self.blocks:
            z = blk(z)
        return self.norm(z)[:, 0]

    def forward(self, x):
        return self.head(self.features(x))


def build(spec):
    """The module for a cr model spec (the JSON stored under `cr.model`), with its input
    normalisation (`spec["normalize"]`) as a fixed first layer when the spec has one."""
    model = _build(spec)
    n = spec.get("normalize")
    if n is not None:
        attach_normalization(model, n["mean"], n["std"])
    return model


def attach_normalization(model, mean, std):
    """Makes `model.features` (and so `model(x)`) compute `(x - mean_c) * (1 / std_c)` per
    channel first, as cr's `Model::normalize` does (1/std in float64, then float32). The
    statistics are non-persistent buffers: the state-dict keys are unchanged. Inputs stay
    in [0, 1]."""
    c = len(mean)
    model.register_buffer(
        "input_mean", torch.tensor(mean, dtype=torch.float64).float().view(1, c, 1, 1),
        persistent=False)
    model.register_buffer(
        "input_inv_std",
        (1.0 / torch.tensor(std, dtype=torch.float64)).float().view(1, c, 1, 1),
        persistent=False)
    inner = model.features

    def features(x):
        return inner((x - model.input_mean) * model.input_inv_std)

    model.features = features
    return model


def _build(spec):
    a, (c, h, w), k = spec["arch"], spec["input"], spec["num_classes"]
    kind, rank, p = a["kind"], a.get("layer_rank"), spec.get("pruned", {})
    if kind == "fcn":
        return Fcn(c * h * w, a["width"], a["depth"], k, a.get("bias", False), rank, p)
    if kind == "cnn":
        return Cnn((c, h, w), a["channels"], a.get("hidden", 0), k, rank, p)
    if kind == "resnet":
        return ResNet(c, a["blocks"], a.get("bottleneck", False), a.get("width", 64),
                      a.get("width_per_group", 64), k, rank, p, a.get("stem", "cifar"))
    if kind == "vgg":
        return Vgg(c, a["config"], k, rank, p)
    if kind == "wrn":
        return Wrn(c, a["depth"], a["widen"], k, rank, p)
    if kind == "preact-resnet":
        return PreactResNet(c, a["blocks"], a.get("width", 64), k, a.get("out_shortcut", False),
                            a.get("bn_before_fc", False), p)
    if kind == "vgg-torchvision":
        return VggTv(c, a["config"], a.get("hidden", 4096), k, p)
    if kind == "vit":
        return Vit((c, h, w), a["patch"], a["dim"], a["depth"], a["heads"], a["mlp_dim"], k, p)
    raise ValueError(f"unknown architecture kind {kind!r}")
