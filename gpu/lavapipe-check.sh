#!/usr/bin/env bash
# The GPU code path, run on the CPU machine: every command of cr on a real Vulkan driver, Mesa's
# lavapipe (llvmpipe, device type CPU), against the same command on `--device cpu`.
#
#   gpu/lavapipe-check.sh                    # --device wgpu (WGSL kernels compiled by naga)
#   gpu/lavapipe-check.sh --device vulkan    # cubecl's own SPIR-V (crashes in lavapipe today)
#   gpu/lavapipe-check.sh --quick            # fewer images and attacks (minutes)
#
# It installs Mesa's Vulkan drivers when they are missing (Debian's mesa-vulkan-drivers), builds
# the GPU-feature binary in its own target dir (CR_LAVAPIPE_TARGET, default target-lavapipe;
# never part of .ci/run) and the CPU binary in target/, then runs on lavapipe:
#   1. a probe: `bench --only svd-512` (host SVD) and a one-epoch FCN training;
#   2. the smoke grid (every regulariser: group lasso, scale-invariant, nuclear norm with its
#      host SVD, low rank, Frobenius, spread; adversarial training; pruning; transfer; the UAP),
#      compared with a 3-seed CPU reference by gpu/gpu_report.py compare;
#   3. every attack from the CLI (FGSM, PGD, APGD-CE reference and ART, APGD-DLR, APGD-T,
#      FAB-T, Square, AutoAttack standard, UAP; l-inf and l2) on an FCN trained on the device
#      and one trained on the CPU, each against the same attack on the CPU on the same first-N
#      images: robust accuracy within binomial noise, every point in the ball and in [0, 1]
#      (gpu/gpu_report.py attacks);
#   4. `analyze`, `prune` (masked and physical, with --eval) on the device;
#   5. `xtask bench --quick` on the device (that it runs; timings on lavapipe mean nothing);
# and writes $OUT/summary.json (default gpu/out/lavapipe), with the Mesa version and the device.
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICE=wgpu; QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "lavapipe-check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$DEVICE" in wgpu|vulkan) ;; *) echo "--device $DEVICE: expected wgpu or vulkan" >&2; exit 2 ;; esac
OUT="${OUT:-gpu/out/lavapipe}"
W="${CR_LAVAPIPE_WORK:-/tmp/cr-lavapipe}"
TARGET="${CR_LAVAPIPE_TARGET:-$PWD/target-lavapipe}"
rm -rf "$W"; mkdir -p "$W/logs" "$W/json" "$OUT"
STEPS="$W/steps.tsv"; : > "$STEPS"
if [ "$QUICK" = 1 ]; then FIRST=50; NORMS="linf"; else FIRST=200; NORMS="linf l2"; fi
FIRST="${CR_LAVAPIPE_FIRST:-$FIRST}"   # images per attack

# step NAME CMD...: runs CMD, logging to $W/logs/NAME.log; records name, rc, seconds, status.
step() {
  local name=$1; shift
  local t0=$SECONDS rc=0 status=ok
  echo "-- $name"
  timeout -k 5 "${CAP:-1800}" bash -c '"$@"' "$name" "$@" > "$W/logs/$name.log" 2>&1 || rc=$?
  [ $rc = 0 ] || status=failed
  if [ $rc = 124 ] || [ $rc = 137 ]; then status="timed out"; fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" "$status" >> "$STEPS"
  echo "   $status, rc $rc, $((SECONDS - t0)) s"
  [ $rc = 0 ] || tail -n 5 "$W/logs/$name.log" | sed 's/^/   | /'
  return $rc
}

# --- the driver and the environment that makes cubecl take it ------------------------------
if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  apt-get install -y mesa-vulkan-drivers vulkan-tools ||
    { apt-get update && apt-get install -y mesa-vulkan-drivers vulkan-tools; } ||
    { echo "could not install mesa-vulkan-drivers" >&2; exit 1; }
fi
VK_DRIVER_FILES=$(ls /usr/share/vulkan/icd.d/lvp_icd*.json | head -1)
export VK_DRIVER_FILES CUBECL_WGPU_DEFAULT_DEVICE=Cpu LP_NUM_THREADS="$(nproc)"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$W/xdg}"; mkdir -p "$XDG_RUNTIME_DIR"
{
  echo "machine: $(uname -srm), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
  echo "mesa-vulkan-drivers: $(dpkg-query -W -f '${Version}' mesa-vulkan-drivers 2>/dev/null)"
  echo "VK_DRIVER_FILES=$VK_DRIVER_FILES"
  command -v vulkaninfo >/dev/null &&
    vulkaninfo --summary 2>/dev/null | grep -E 'apiVersion|driverInfo|deviceName|deviceType' | sed 's/^[[:space:]]*//'
} > "$W/check.txt"
cat "$W/check.txt"

# --- binaries ---------------------------------------------------------------------------------
CAP=7200 step build-cpu cargo build --release --locked -p xtask || exit 1
CAP=7200 step "build-$DEVICE" env CARGO_TARGET_DIR="$TARGET" cargo build --release --locked -p xtask \
  --features "$DEVICE" || exit 1
CPU="$PWD/target/release/xtask"; DEV="$TARGET/release/xtask"
X() { "$DEV" -q "$@" --device "$DEVICE"; }          # on lavapipe
C() { "$CPU" -q "$@" --device cpu; }                # the CPU reference
export CPU DEV DEVICE; export -f X C

# --- 1. probe ---------------------------------------------------------------------------------
step probe-svd X bench --only svd-512 --quick
sed -e 's/^epochs = .*/epochs = 1/' configs/examples/fcn-mnist.toml > "$W/fcn.toml"
step probe-train X train --config "$W/fcn.toml" --out "$W/probe-train" --json

# --- 2. the smoke grid -------------------------------------------------------------------------
step smoke-reference C reproduce --scale smoke --seeds 3 --no-report --out "$W/smoke-ref"
step "smoke-$DEVICE" X reproduce --scale smoke --out "$W/smoke-dev"
python3 gpu/gpu_report.py compare --out "$OUT/smoke-compare.json" --reference "$W/smoke-ref" \
  --run "$DEVICE=$W/smoke-dev" > "$W/logs/smoke-compare.log" 2>&1
printf '%s\t%s\t0\t%s\n' smoke-compare "$?" "$(tail -1 "$W/logs/smoke-compare.log")" >> "$STEPS"
tail -n 3 "$W/logs/smoke-compare.log"

# --- 3. every attack, on a model trained on the device and one trained on the CPU -------------
sed -e 's/^epochs = .*/epochs = 3/' configs/examples/fcn-mnist.toml > "$W/fcn3.toml"
step train-fcn-dev X train --config "$W/fcn3.toml" --out "$W/fcn-dev" --json
step train-fcn-cpu C train --config "$W/fcn3.toml" --out "$W/fcn-cpu" --json
ATTACKS=("fgsm" "pgd" "apgd-ce" "apgd-ce --mode art" "apgd-dlr" "apgd-t" "fab-t" "square" "autoattack" "uap")
[ "$QUICK" = 1 ] && ATTACKS=("fgsm" "pgd" "apgd-ce" "apgd-ce --mode art" "autoattack" "uap")
pairs=()
for m in dev cpu; do
  for norm in $NORMS; do
    if [ "$norm" = linf ]; then eps=0.1; else eps=1.5; fi
    for a in "${ATTACKS[@]}"; do
      tag="fcn-$m-$norm-${a// --mode /-}"
      model="$W/fcn-$m/model.safetensors"
      # shellcheck disable=SC2086 # $a holds the attack and its options
      step "attack-$tag-$DEVICE" sh -c "\"$DEV\" -q attack --model '$model' --first $FIRST --attack $a \
        --norm $norm --eps $eps --json --device $DEVICE > '$W/json/$tag-dev.json'"
      step "attack-$tag-cpu" sh -c "\"$CPU\" -q attack --model '$model' --first $FIRST --attack $a \
        --norm $norm --eps $eps --json --device cpu > '$W/json/$tag-cpu.json'"
      pairs+=(--pair "$tag=$W/json/$tag-dev.json,$W/json/$tag-cpu.json")
    done
  done
done
python3 gpu/gpu_report.py attacks --out "$OUT/attacks.json" "${pairs[@]}" > "$W/logs/attacks.log" 2>&1
printf '%s\t%s\t0\t%s\n' attacks-compare "$?" "$(grep -c ^FAIL "$W/logs/attacks.log") failed" >> "$STEPS"
grep ^FAIL "$W/logs/attacks.log" | head -20

# --- 4. analyze, prune --------------------------------------------------------------------------
M="$W/fcn-dev/model.safetensors"
step "analyze-$DEVICE" X analyze --model "$M" --json
step "prune-masked-$DEVICE" X prune --model "$M" --method global --ratio 0.5 --eval --n "$FIRST" \
  --attack pgd --eps 0.1 --out "$W/pruned-masked.safetensors" --json
step "prune-physical-$DEVICE" X prune --model "$M" --method layerwise --ratio 0.5 --eval --n "$FIRST" \
  --attack pgd --eps 0.1 --out "$W/pruned-physical.safetensors" --json
step "attack-pruned-$DEVICE" X attack --model "$W/pruned-physical.safetensors" --first "$FIRST" \
  --attack apgd-ce --eps 0.1 --json

# --- 5. bench ----------------------------------------------------------------------------------
step "bench-$DEVICE" X bench --quick --json

# --- summary -----------------------------------------------------------------------------------
python3 - "$STEPS" "$W/check.txt" "$OUT" "$DEVICE" "$QUICK" "$SECONDS" <<'EOF'
import json, os, sys
steps_path, check, out, device, quick, seconds = sys.argv[1:]
steps = []
for line in open(steps_path):
    name, rc, sec, status = line.rstrip("\n").split("\t")
    steps.append({"step": name, "rc": None if rc == "-" else int(rc), "seconds": int(sec), "status": status})
def load(f):
    try:
        return json.load(open(os.path.join(out, f)))
    except (OSError, ValueError):
        return None
smoke, att = load("smoke-compare.json"), load("attacks.json")
summary = {
    "device": device, "quick": quick == "1", "seconds": int(seconds),
    "check": open(check).read().splitlines(),
    "steps_ok": sum(s["rc"] == 0 for s in steps),
    "steps_failed": [s["step"] for s in steps if s["rc"] not in (0, None)],
    "smoke_vs_cpu": (smoke or {}).get("backends"),
    "attacks_vs_cpu": None if att is None else {k: att[k] for k in ("pass", "cases", "failed")},
    "steps": steps,
}
summary["pass"] = not summary["steps_failed"]
with open(os.path.join(out, "summary.json.tmp"), "w") as fh:
    json.dump(summary, fh, indent=2)
os.replace(os.path.join(out, "summary.json.tmp"), os.path.join(out, "summary.json"))
print(f"{'PASS' if summary['pass'] else 'FAIL'}: {summary['steps_ok']} steps ok, failed: {summary['steps_failed']}")
sys.exit(0 if summary["pass"] else 1)
EOF
rc=$?
tar -C "$W" -cJf "$OUT/logs.tar.xz" logs json steps.tsv check.txt
echo "== done in $SECONDS s; $OUT/summary.json"
exit $rc
