"""Prints the before/after numbers of FIDELITY.md from results folders of
`cargo xtask reproduce --only bound-vs-gap,motivating,fcn-standard,adv-training --seeds 1`.

    python3 bench/fidelity_table.py RESULTS_DIR [RESULTS_DIR ...]

Figure 3's correlation is computed here (Pearson and Spearman, average ranks for ties) between
the robustness gap and: the bound the old results carry (`corollary_3_3.gap`, delta * sqrt(2) *
whole-network bound), the Corollary 3.3 gap bound (`corollary_3_3.gap_bound`, new results) and
the encoder bound alone (`encoder_bound.l2`, new results)."""

import json
import math
import os
import sys


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def pearson(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    saa = sum((x - ma) ** 2 for x in a)
    sbb = sum((y - mb) ** 2 for y in b)
    return sab / math.sqrt(saa * sbb) if saa > 0 and sbb > 0 else float("nan")


def runs(root, exp):
    d = os.path.join(root, exp)
    if not os.path.isdir(d):
        return []
    out = []
    for r in sorted(os.listdir(d)):
        p = os.path.join(d, r, "result.json")
        if os.path.exists(p):
            out.append((r, json.load(open(p))))
    return out


def main():
    for root in sys.argv[1:]:
        print(f"## {root}")
        rows = runs(root, "bound-vs-gap")
        if rows:
            gaps, old, gb, enc = [], [], [], []
            print("rank | gap | corollary gap (old field) | gap_bound | encoder_bound.l2")
            for r, j in rows:
                m = j["eval"]["measures"]
                c = m["bounds"].get("corollary_3_3", {})
                gaps.append(m["gap"]["gap"])
                old.append(c.get("gap", float("nan")))
                gb.append(c.get("gap_bound", float("nan")))
                enc.append(m["bounds"].get("encoder_bound", {}).get("l2", float("nan")))
                print(f"{j['value']} | {gaps[-1]:.4f} | {old[-1]:.4g} | {gb[-1]:.4g} | {enc[-1]:.4g}")
            for name, b in (("corollary_3_3.gap", old), ("gap_bound", gb), ("encoder_bound.l2", enc)):
                if all(not math.isnan(x) for x in b):
                    print(f"rho({name}, gap): Pearson {pearson(b, gaps):.3f}, Spearman {pearson(ranks(b), ranks(gaps)):.3f}")
        for exp in ("motivating", "fcn-standard", "adv-training"):
            rows = runs(root, exp)
            if not rows:
                continue
            print(f"{exp}: sweep value | clean acc | robust acc | z-change (representation)")
            for r, j in rows:
                e = j["eval"]
                rep = e["measures"].get("representation", {})
                z = rep.get("change_mean", float("nan"))
                print(f"  {j['sweep']} {j['value']} | {e['clean_accuracy']:.3f} | {e['robust_accuracy']:.3f} | {z:.4f}")


if __name__ == "__main__":
    main()
