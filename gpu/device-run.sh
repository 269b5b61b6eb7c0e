#!/usr/bin/env bash
# The GPU check, in one run on a GPU machine that has no Rust toolchain and no network: from the
# repository root, with gpu/bundle/ (made by gpu/make-bundle.sh) in place:
#
#   gpu/device-run.sh                        # cuda and vulkan
#   gpu/device-run.sh --device cuda          # one backend
#   gpu/device-run.sh --device cpu --quick   # dry rehearsal on a CPU machine
#
# It unpacks the binaries, checks the device and the libraries they need, then runs
#   1. the smoke grid on each backend, and on the CPU with 3 seeds as the reference: each
#      backend's results must have the reference's shapes and its accuracies within seed noise
#      (gpu/gpu_report.py compare);
#   1b. FGSM, PGD, APGD-CE and AutoAttack from the CLI on one smoke model, on each backend and
#      on the CPU: robust accuracies within binomial noise, points in the ball and in [0, 1];
#   2. `xtask bench`, one workload per process, on each backend;
#   3. a slice of the paper grid (gpu/paper-slice.toml: one point of configs/paper/fcn-standard,
#      advcomp's FCN 4x2000 on CIFAR-10, batch 100, constant learning rate, no augmentation) on
#      the seeded stand-in CIFAR-10 of `xtask data --synthesize` at the official 50,000/10,000
#      images: a few epochs, then the grid's ART-mode APGD-CE (5 restarts, 100 steps, l-inf
#      2/255), giving seconds per epoch and per APGD evaluation;
# and writes JSON to $OUT (default gpu/out): summary.json, smoke-compare.json,
# bench-<backend>.json, slice-<backend>.json, and logs.tar.xz. Every step has a time cap, each
# phase a deadline, and the whole stays within --budget seconds (default 450: done within 8
# minutes); a step that would not fit is skipped and recorded as such.
#
# Through the device tool: carry gpu/bundle (ignored by git), command `bash gpu/device-run.sh`,
# timeout_s 540; $OUT is set there and its files come back.
#
# --device cpu rehearses it all on a CPU machine: the two "backends" are then the CPU as run by
# the cuda binary and by the vulkan binary, and nothing is installed on the machine.
set -uo pipefail
cd "$(dirname "$0")/.."
DEVICES="cuda,vulkan"; QUICK=0; BUDGET=450
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICES="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --budget) BUDGET="$2"; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "device-run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
OUT="${OUT:-gpu/out}"
B=gpu/bundle
W="${CR_GPU_WORK:-/tmp/cr-gpu}"
rm -rf "$W"; mkdir -p "$W/bin" "$W/logs" "$OUT"
STEPS="$W/steps.tsv"; : > "$STEPS"
CORES=$(nproc)
if [ "$QUICK" = 1 ]; then   # sizes for a small CPU machine
  SLICE_EPOCHS=1; SLICE_N=100; SLICE_PER_CLASS=100; BENCH_FLAGS="--quick"
else
  SLICE_EPOCHS=3; SLICE_N=1000; SLICE_PER_CLASS=5000; BENCH_FLAGS=""
fi
SLICE_EPOCHS="${CR_SLICE_EPOCHS:-$SLICE_EPOCHS}"; SLICE_N="${CR_SLICE_N:-$SLICE_N}"
# Phase deadlines (seconds since start): time a phase leaves unused goes to the next.
END_SMOKE=$((BUDGET * 42 / 100)); END_BENCH=$((BUDGET * 68 / 100)); END_ALL=$((BUDGET - 15))
DEADLINE=$END_ALL

# step NAME CAP CMD...: runs CMD (a program or an exported function) with a time cap of
# min(CAP, DEADLINE - now), logging to $W/logs/NAME.log and recording name, exit code,
# seconds and status in $STEPS. Skipped when less than 5 s would be left.
step() {
  local name=$1 cap=$2; shift 2
  local t=$((DEADLINE - SECONDS)); [ "$t" -lt "$cap" ] || t=$cap
  if [ "$t" -lt 5 ]; then
    printf '%s\t-\t0\tskipped (budget)\n' "$name" >> "$STEPS"; echo "-- $name: skipped (budget)"; return 99
  fi
  local t0=$SECONDS rc=0 status=ok
  echo "-- $name (cap ${t} s)"
  timeout -k 5 "$t" bash -c '"$@"' "$name" "$@" > "$W/logs/$name.log" 2>&1 || rc=$?
  [ $rc = 0 ] || status=failed
  if [ $rc = 124 ] || [ $rc = 137 ]; then status="timed out"; fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" "$status" >> "$STEPS"
  echo "   $status, rc $rc, $((SECONDS - t0)) s"
  return $rc
}
export W B CORES DEVICES

# --- unpack and check -------------------------------------------------------------------------
[ -f "$B/MANIFEST.json" ] || { echo "no $B/MANIFEST.json: run gpu/make-bundle.sh, carry gpu/bundle" >&2; exit 1; }
BINS=$(python3 -c "import json; print(' '.join(k[6:] for k in json.load(open('$B/MANIFEST.json'))['binaries']))")
export BINS
unpack() {
  local f want
  for f in $BINS; do
    xz -dc "$B/xtask-$f.xz" > "$W/bin/xtask-$f" && chmod +x "$W/bin/xtask-$f" || return 1
    want=$(python3 -c "import json; print(json.load(open('$B/MANIFEST.json'))['binaries']['xtask-$f']['sha256'])")
    [ "$(sha256sum "$W/bin/xtask-$f" | cut -d' ' -f1)" = "$want" ] || { echo "xtask-$f: checksum mismatch"; return 1; }
    echo "xtask-$f: $(stat -c %s "$W/bin/xtask-$f") bytes, checksum ok"
  done
}
export -f unpack
step unpack 60 unpack || { cat "$W/logs/unpack.log"; echo "unpack failed" >&2; }

IFS=, read -r -a DEVLIST <<< "$DEVICES"
TARGETS=()   # label:binary:device
GPU=0
for d in "${DEVLIST[@]}"; do
  case "$d" in
    cuda|cuda:[0-9]*) TARGETS+=("${d/:/}:cuda:$d"); GPU=1 ;;
    vulkan) TARGETS+=("vulkan:vulkan:vulkan"); GPU=1 ;;
    cpu) TARGETS+=("cpu-cudabin:cuda:cpu" "cpu-vulkanbin:vulkan:cpu") ;;
    *) echo "--device $d: expected cuda, cuda:N, vulkan or cpu" >&2; exit 2 ;;
  esac
done
# A bundle made with --features cuda (say) lacks the other binary: its targets are skipped.
kept=()
for t in "${TARGETS[@]}"; do
  IFS=: read -r label bin dev <<< "$t"
  if [ -f "$B/xtask-$bin.xz" ]; then kept+=("$t"); else
    printf '%s\t-\t0\tskipped (no xtask-%s in the bundle)\n' "target-$label" "$bin" >> "$STEPS"
    echo "-- $label: skipped (no xtask-$bin in the bundle)"
  fi
done
TARGETS=("${kept[@]}")

if [ "$GPU" = 1 ]; then
  # The Vulkan loader and GL dispatch libraries (the device tool's recipe), only where the
  # machine lacks them; the driver's ICD where the loader would not find it.
  if ! ldconfig -p | grep -q libvulkan.so.1; then
    for f in "$B"/debs/*.deb; do dpkg -x "$f" /; done; ldconfig
  fi
  if ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1 &&
     [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  fi
  # libdevice.10.bc for kernels using exp/log/tanh (the LLVM compiler path links it),
  # unless CUDA_PATH already names a toolkit that has one.
  if [ ! -f "${CUDA_PATH:-/nonexistent}/nvvm/libdevice/libdevice.10.bc" ]; then
    export CUDA_PATH="$PWD/$B/cuda"
  fi
fi
check() {
  local f d ds ok=0
  echo "machine: $(uname -srm), $CORES cores, $(sed -n 's/^PRETTY_NAME=//p' /etc/os-release 2>/dev/null)"
  echo "glibc: $(getconf GNU_LIBC_VERSION)"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader
    nvidia-smi | grep -o 'CUDA Version: [0-9.]*'
  else
    echo "nvidia-smi: none"
  fi
  echo "bundle: built for CUDA $(python3 -c "import json; print(json.load(open('$B/MANIFEST.json'))['cudarc_cuda_version'])")"
  echo "libcuda.so.1: $(ldconfig -p | grep -o 'libcuda.so.1 .*' | head -1)"
  echo "libvulkan.so.1: $(ldconfig -p | grep -o 'libvulkan.so.1 .*' | head -1)"
  echo "vulkan ICDs: $(ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null | tr '\n' ' ')"
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  echo "CUDA_PATH=${CUDA_PATH:-} ($(ls "${CUDA_PATH:-/nonexistent}"/nvvm/libdevice 2>/dev/null))"
  for f in "$B"/debs/*.deb; do dpkg-deb -I "$f" >/dev/null || { echo "bad package $f"; ok=1; }; done
  echo "packages: $(ls "$B"/debs | tr '\n' ' ')"
  for f in $BINS; do
    echo "xtask-$f needs:"; ldd "$W/bin/xtask-$f" | sed 's/^/  /'
    ldd "$W/bin/xtask-$f" | grep -q 'not found' && ok=1
    "$W/bin/xtask-$f" --version || ok=1
  done
  IFS=, read -r -a ds <<< "$DEVICES"
  for d in "${ds[@]}"; do
    case "$d" in cuda*) ldconfig -p | grep -q libcuda.so.1 || { echo "no libcuda.so.1 (the driver)"; ok=1; } ;; esac
    case "$d" in vulkan) ldconfig -p | grep -q libvulkan.so.1 || { echo "no libvulkan.so.1"; ok=1; } ;; esac
  done
  return $ok
}
export -f check
step check 30 check || echo "   device check failed: see logs/check.log (the runs go on)"
cp "$W/logs/check.log" "$W/check.txt"
sed 's/^/   /' "$W/check.txt" | head -12

X() { local bin=$1; shift; "$W/bin/xtask-$bin" -q "$@"; }
export -f X

# --- 1. smoke grid ------------------------------------------------------------------------------
DEADLINE=$END_SMOKE
# The CPU reference (3 seeds, several runs at once on half the cores) runs in the background
# meanwhile.
ref() {
  X "${BINS%% *}" reproduce --scale smoke --seeds 3 --jobs "$(( CORES / 2 > 0 ? CORES / 2 : 1 ))" \
    --no-report --out "$W/smoke-ref" --device cpu > "$W/logs/smoke-ref.log" 2>&1
}
export -f ref
step smoke-reference 600 ref &
REF=$!
for t in "${TARGETS[@]}"; do
  IFS=: read -r label bin dev <<< "$t"
  step "smoke-$label" 600 X "$bin" reproduce --scale smoke --out "$W/smoke-$label" --device "$dev"
done
wait $REF
runs=(); for t in "${TARGETS[@]}"; do runs+=(--run "${t%%:*}=$W/smoke-${t%%:*}"); done
python3 gpu/gpu_report.py compare --out "$OUT/smoke-compare.json" \
  --reference "$W/smoke-ref" "${runs[@]}" \
  > "$W/logs/compare.log" 2>&1 || echo "   compare failed: see logs/compare.log"
sed 's/^/   /' "$W/logs/compare.log" | tail -n 12

# --- 1b. attacks from the CLI on one model, each backend against the CPU (as
# gpu/lavapipe-check.sh does on Mesa's lavapipe): robust accuracy within binomial noise, every
# point in the ball and in [0, 1] (gpu_report.py attacks).
M0=$(ls "$W"/smoke-ref/fcn-standard/neuron-00-*-s0/model.safetensors 2>/dev/null | head -1)
if [ -n "$M0" ]; then
  DEADLINE=$((SECONDS + 60 * ${#TARGETS[@]}))
  pairs=()
  for a in fgsm pgd apgd-ce autoattack; do
    step "attack-$a-cpu" sh -c 'exec "$0" -q attack --json --model "$1" --first 100 --attack "$2" --norm linf --eps 0.1 --device cpu > "$3"' \
      "$W/bin/xtask-${BINS%% *}" "$M0" "$a" "$W/attack-$a-cpu.json"
    for t in "${TARGETS[@]}"; do
      IFS=: read -r label bin dev <<< "$t"
      step "attack-$a-$label" sh -c 'exec "$0" -q attack --json --model "$1" --first 100 --attack "$2" --norm linf --eps 0.1 --device "$3" > "$4"' \
        "$W/bin/xtask-$bin" "$M0" "$a" "$dev" "$W/attack-$a-$label.json"
      pairs+=(--pair "$label-$a=$W/attack-$a-$label.json,$W/attack-$a-cpu.json")
    done
  done
  python3 gpu/gpu_report.py attacks --out "$OUT/attacks.json" "${pairs[@]}" > "$W/logs/attacks.log" 2>&1 ||
    echo "   attacks differ from the CPU's: see logs/attacks.log"
  tail -n 8 "$W/logs/attacks.log" | sed 's/^/   /'
fi

# --- 2. bench, one workload per process: a capped workload loses only itself ------------------
WORKLOADS=(train-fcn train-cnn pgd-10 apgd-ce-100 uap svd-512 svd-2048 norms-2048)
n=${#TARGETS[@]}; i=0
for t in "${TARGETS[@]}"; do
  IFS=: read -r label bin dev <<< "$t"
  DEADLINE=$((SECONDS + (END_BENCH - SECONDS) / (n - i))); i=$((i + 1))
  mkdir -p "$W/bench-$label"
  for w in "${WORKLOADS[@]}"; do
    step "bench-$label-$w" 60 sh -c 'exec "$0" -q bench --json $1 --only "$2" --device "$3" > "$4"' \
      "$W/bin/xtask-$bin" "$BENCH_FLAGS" "$w" "$dev" "$W/bench-$label/$w.json"
  done
  python3 gpu/gpu_report.py bench --out "$OUT/bench-$label.json" --label "$label" --device "$dev" \
    --steps "$STEPS" "$W/bench-$label"/*.json || echo "   bench summary failed"
done

# --- 3. paper slice ---------------------------------------------------------------------------
sed "s/^epochs = .*/epochs = $SLICE_EPOCHS/" gpu/paper-slice.toml > "$W/paper-slice.toml"
# The slice's CIFAR-10: seeded stand-ins in the official binary format, at the official size
# (the GPU machine has no data set and no network).
IFS=: read -r _ bin0 _ <<< "${TARGETS[0]}"
step "slice-data" 120 "$W/bin/xtask-$bin0" -q data --synthesize "$W/data" \
  --train-per-class "$SLICE_PER_CLASS" --test-per-class "$((SLICE_PER_CLASS / 5))"
i=0
for t in "${TARGETS[@]}"; do
  IFS=: read -r label bin dev <<< "$t"
  DEADLINE=$((SECONDS + (END_ALL - SECONDS) / (n - i))); i=$((i + 1))
  step "slice-train-$label" 600 sh -c 'exec "$0" -q train --json --config "$1" --out "$2" --device "$3" --data-dir "$4" > "$2.train.json"' \
    "$W/bin/xtask-$bin" "$W/paper-slice.toml" "$W/slice-$label" "$dev" "$W/data" &&
    step "slice-apgd-$label" 600 sh -c 'exec "$0" -q attack --json --model "$1/model.safetensors" --data cifar10 --data-dir "$4" \
        --n "$2" --attack apgd-ce --mode art --restarts 5 --norm linf --eps 0.00784313725490196 --device "$3" > "$1.attack.json"' \
      "$W/bin/xtask-$bin" "$W/slice-$label" "$SLICE_N" "$dev" "$W/data"
  python3 gpu/gpu_report.py slice --out "$OUT/slice-$label.json" --label "$label" --device "$dev" \
    --train "$W/slice-$label.train.json" --metrics "$W/slice-$label/metrics.json" \
    --attack "$W/slice-$label.attack.json" --steps "$STEPS" || echo "   slice summary failed"
done

# --- summary -------------------------------------------------------------------------------------
python3 gpu/gpu_report.py summary --out "$OUT/summary.json" --steps "$STEPS" --check "$W/check.txt" \
  --manifest "$B/MANIFEST.json" --devices "$DEVICES" --quick "$QUICK" --budget "$BUDGET" \
  --seconds "$SECONDS" --compare "$OUT/smoke-compare.json" --results "$OUT" || echo "summary failed"
tar -C "$W" -cJf "$OUT/logs.tar.xz" logs steps.tsv check.txt
echo "== done in $SECONDS s; $OUT:"
ls -l "$OUT"
cat "$OUT/summary.json"
