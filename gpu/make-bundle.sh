#!/usr/bin/env bash
# Builds what a GPU machine without Rust, network or CUDA toolkit needs to run cr, into
# gpu/bundle/ (ignored by git; carry it to the GPU machine and run gpu/device-run.sh there):
#
#   xtask-cuda.xz, xtask-vulkan.xz   release binaries (features cuda / vulkan), stripped, xz
#   cuda/nvvm/libdevice/libdevice.10.bc   CUDA's math library, for kernels using exp/log/tanh
#                                    (the LLVM compiler path links it; from PyPI's nvcc wheel)
#   debs/*.deb                       the Vulkan loader and GL vendor-neutral dispatch libraries
#   MANIFEST.json                    versions, checksums, sizes, needed shared libraries
#
# Usage: gpu/make-bundle.sh [--skip-build] [--features cuda,vulkan]   (from anywhere)
# Environment:
#   CUDARC_CUDA_VERSION   CUDA version of the GPU machine's driver (default 13000: driver 580)
#   CR_TARGET_CUDA, CR_TARGET_VULKAN   cargo target dirs, one per feature so that neither build
#                         invalidates the other (default target/cuda, target/vulkan)
#   CR_JOBS               cargo -j (default: cargo's)
#   CR_NICE               nice level of the builds and compression (default 0)
#   CR_LIBDEVICE          an existing libdevice.10.bc to use instead of the PyPI wheel
#   CR_CACHE              where the wheel is downloaded (default ~/.cache/cr-gpu)
#   CR_BUNDLE_LIMIT_MIB   size limit of bundle + working tree (default 64)
# The cuda build needs LLVM 23 (cubecl's compiler): online, cubecl's build script downloads
# it; offline, provision it first (README, "CPU and GPU").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SKIP_BUILD=0; FEATURES="cuda,vulkan"
while [ $# -gt 0 ]; do
  case "$1" in
    --skip-build) SKIP_BUILD=1; shift ;;
    --features) FEATURES="$2"; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "make-bundle.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
IFS=, read -r -a FEATS <<< "$FEATURES"
for f in "${FEATS[@]}"; do
  case "$f" in cuda|vulkan) ;; *) echo "--features: cuda and/or vulkan, not $f" >&2; exit 2 ;; esac
done

export CUDARC_CUDA_VERSION="${CUDARC_CUDA_VERSION:-13000}"
TD_CUDA="${CR_TARGET_CUDA:-$ROOT/target/cuda}"
TD_VULKAN="${CR_TARGET_VULKAN:-$ROOT/target/vulkan}"
NICE=(nice -n "${CR_NICE:-0}")
JOBS=(${CR_JOBS:+-j "$CR_JOBS"})
CACHE="${CR_CACHE:-$HOME/.cache/cr-gpu}"
LIMIT_MIB="${CR_BUNDLE_LIMIT_MIB:-64}"
B="$ROOT/gpu/bundle"
NVCC_WHEEL="nvidia-cuda-nvcc-cu12==12.9.86"   # holds nvvm/libdevice/libdevice.10.bc (475 KiB)
DEBS=(libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libopengl0 libgles2)

build() { # feature target-dir
  echo "== cargo build --release -p xtask --features $1 (target dir $2)"
  local t0=$SECONDS
  CARGO_TARGET_DIR="$2" "${NICE[@]}" cargo build --release --locked "${JOBS[@]}" -p xtask --features "$1"
  echo "   built in $((SECONDS - t0)) s"
}

td() { if [ "$1" = cuda ]; then echo "$TD_CUDA"; else echo "$TD_VULKAN"; fi; }
if [ "$SKIP_BUILD" = 0 ]; then
  for f in "${FEATS[@]}"; do build "$f" "$(td "$f")"; done
fi

rm -rf "$B.new"; mkdir -p "$B.new/debs" "$B.new/cuda/nvvm/libdevice"
for f in "${FEATS[@]}"; do
  bin="$(td "$f")/release/xtask"
  [ -x "$bin" ] || { echo "no $bin: build it first (without --skip-build)" >&2; exit 1; }
  strip -o "$B.new/xtask-$f" "$bin"
  echo "== xz xtask-$f ($(stat -c %s "$B.new/xtask-$f") bytes stripped)"
  "${NICE[@]}" xz -9 -T"${CR_JOBS:-0}" -k "$B.new/xtask-$f"
done

if [ -n "${CR_LIBDEVICE:-}" ]; then
  cp "$CR_LIBDEVICE" "$B.new/cuda/nvvm/libdevice/libdevice.10.bc"
else
  mkdir -p "$CACHE"
  whl=$(ls "$CACHE"/nvidia_cuda_nvcc_cu12-12.9.86-*.whl 2>/dev/null | head -1 || true)
  if [ -z "$whl" ]; then
    python3 -m pip download --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
      --platform manylinux_2_17_x86_64 --python-version 3.12 -d "$CACHE" "$NVCC_WHEEL"
    whl=$(ls "$CACHE"/nvidia_cuda_nvcc_cu12-12.9.86-*.whl | head -1)
  fi
  unzip -p "$whl" nvidia/cuda_nvcc/nvvm/libdevice/libdevice.10.bc \
    > "$B.new/cuda/nvvm/libdevice/libdevice.10.bc"
fi

(cd "$B.new/debs" && apt-get download "${DEBS[@]}" >/dev/null)

# What the binaries need from the machine: shared libraries and the newest glibc symbol version.
needs() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | paste -sd, -; }
glibc() { objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1; }
{
  echo "{"
  echo "  \"git\": \"$(git rev-parse HEAD)$(git diff --quiet HEAD -- . ':!gpu/bundle' || echo -dirty)\","
  echo "  \"rustc\": \"$(rustc -V)\","
  echo "  \"cudarc_cuda_version\": \"$CUDARC_CUDA_VERSION\","
  echo "  \"llvm\": \"$(ls "${XDG_DATA_HOME:-$HOME/.local/share}"/tracel 2>/dev/null | head -1)\","
  echo "  \"binaries\": {"
  sep=""
  for f in "${FEATS[@]}"; do
    x="$B.new/xtask-$f"
    printf '%s    "xtask-%s": {"bytes": %s, "xz_bytes": %s, "sha256": "%s", "needed": "%s", "glibc": "%s"}' \
      "$sep" "$f" "$(stat -c %s "$x")" "$(stat -c %s "$x.xz")" "$(sha256sum "$x" | cut -d' ' -f1)" \
      "$(needs "$x")" "$(glibc "$x")"
    sep=$',\n'
  done
  echo; echo "  },"
  echo "  \"libdevice_sha256\": \"$(sha256sum "$B.new/cuda/nvvm/libdevice/libdevice.10.bc" | cut -d' ' -f1)\","
  echo "  \"debs\": [$(cd "$B.new/debs" && ls *.deb | sed 's/.*/"&"/' | paste -sd, -)]"
  echo "}"
} > "$B.new/MANIFEST.json"
for f in "${FEATS[@]}"; do rm -f "$B.new/xtask-$f"; done
rm -rf "$B"; mv "$B.new" "$B"

bundle=$(du -sb "$B" | cut -f1)
tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
total=$((bundle + tree))
echo "== bundle $B: $bundle bytes ($((bundle / 1048576)) MiB); with the working tree $total bytes ($((total / 1048576)) MiB; limit $LIMIT_MIB MiB)"
ls -l "$B" "$B/debs"
if [ "$total" -gt $((LIMIT_MIB * 1048576)) ]; then
  echo "bundle and working tree exceed $LIMIT_MIB MiB" >&2; exit 1
fi
