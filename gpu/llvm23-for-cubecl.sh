#!/usr/bin/env bash
# Give tracel-llvm-bundler 23.1.0-4 (cubecl-llvm 0.11.3's build dependency) Debian's LLVM 23
# instead of its download from the internet. Needs only the Debian mirror in this machine's apt
# sources (the unstable suite carries llvm-23-dev with static libraries and the NVPTX target).
# Idempotent. Then: cargo build --release -p xtask --features cuda (or gpu/make-bundle.sh)
# (set CUDARC_CUDA_VERSION, e.g. 12080, to the GPU driver's CUDA version).
set -euo pipefail
V="${LLVM_DEB_VERSION:-}"   # e.g. 1:23.1.4-2 (tested); empty = sid's current 23.x (sid keeps only the newest)
ROOT="${LLVM23_ROOT:-/opt/debian-llvm-23}"       # where the .debs are unpacked
PREFIX="${XDG_DATA_HOME:-$HOME/.local/share}/tracel/tracel-llvm-23.1.0-4"   # bundler's llvm_path()
REAL="$ROOT/usr/lib/llvm-23/bin/llvm-config"

if [ ! -x "$REAL" ]; then
  A=$(mktemp -d); mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
  # The Debian mirror this machine already uses, with the unstable suite (sid) in place of its own.
  URI=$(sed -n 's/^URIs: *\([^ ]*debian\)\/\?$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
  [ -n "$URI" ] || URI=$(sed -n 's/^deb \(\[[^]]*\] \)\?\([^ ]*debian\)\/\? .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -1)
  [ -n "$URI" ] || { echo "no Debian mirror found in the apt sources" >&2; exit 1; }
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $URI sid main" > "$A/sources.list"
  O=(-o Dir::Etc::SourceList="$A/sources.list" -o Dir::Etc::SourceParts=/nonexistent
     -o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache" -o Debug::NoLocking=1)
  apt-get "${O[@]}" update -qq
  (cd "$A" && apt-get "${O[@]}" download "llvm-23-dev${V:+=$V}" "llvm-23${V:+=$V}")
  mkdir -p "$ROOT"; for d in "$A"/*.deb; do dpkg-deb -x "$d" "$ROOT"; done; rm -rf "$A"
fi

# -lz/-lzstd below need the unversioned .so links.
[ -e /usr/lib/x86_64-linux-gnu/libzstd.so ] && [ -e /usr/lib/x86_64-linux-gnu/libz.so ] ||
  ${SKIP_APT_INSTALL:+:} apt-get install -y -qq --no-install-recommends libzstd-dev zlib1g-dev

# sid's objects call glibc >= 2.38's C23 strto* aliases (bookworm has 2.36) and arc4random (2.36).
LIBDIR=$("$REAL" --libdir)
cat > "$LIBDIR/isoc23_compat.c" <<'C'
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>
long __isoc23_strtol(const char *s, char **e, int b) { return strtol(s, e, b); }
long long __isoc23_strtoll(const char *s, char **e, int b) { return strtoll(s, e, b); }
unsigned long __isoc23_strtoul(const char *s, char **e, int b) { return strtoul(s, e, b); }
unsigned long long __isoc23_strtoull(const char *s, char **e, int b) { return strtoull(s, e, b); }
/* glibc 2.36 symbol used by LLVM Support: defined here so the binary still needs only glibc 2.34 */
uint32_t arc4random(void) { uint32_t v; while (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {} return v; }
C
cc -O2 -fPIC -c "$LIBDIR/isoc23_compat.c" -o "$LIBDIR/isoc23_compat.o"
ar rcs "$LIBDIR/libisoc23_compat.a" "$LIBDIR/isoc23_compat.o"

# The bundler runs "$PREFIX/bin/llvm-config --link-static ARG". Debian's answer lists Polly
# (not shipped in llvm-23-dev) and libz3 as a full path (which the bundler turns into
# `dylib=libz3`, i.e. -llibz3): drop both, and append the compat archive last.
mkdir -p "$PREFIX/bin"
cat > "$PREFIX/bin/llvm-config" <<SH
#!/bin/sh
out=\$("$REAL" "\$@") || exit \$?
case " \$* " in
  *" --libs "*) out="\$(printf '%s' "\$out" | sed 's/ *-lPollyISL//; s/ *-lPolly//') -lisoc23_compat" ;;
  *" --system-libs "*) out="-lrt -ldl -lm -lz -lzstd" ;;
esac
printf '%s\n' "\$out"
SH
chmod +x "$PREFIX/bin/llvm-config"
touch "$PREFIX/.tracel-llvm-installed"     # bundler's sentinel: skip the download
echo "LLVM for cubecl: $PREFIX -> $("$PREFIX/bin/llvm-config" --version) at $ROOT"
