#!/usr/bin/env bash
# Checks the LLVM that gpu/llvm23-for-cubecl.sh provisions without the hour-long cuda build:
# links a small C program against it exactly as cubecl-llvm's build script asks (the wrapper
# llvm-config's --libs and --system-libs, this machine's libstdc++), then has it compile a
# kernel calling expf to PTX for sm_90, once with libdevice.10.bc linked (the LLVM compiler
# path's math library) and once without. Prints the newest glibc symbol version the program
# needs and its stripped size (an NVPTX-only lower bound for what LLVM adds to xtask).
# Usage: gpu/llvm-link-check.sh [libdevice.10.bc]
set -euo pipefail
LIBDEVICE="${1:-}"
P="${XDG_DATA_HOME:-$HOME/.local/share}/tracel/tracel-llvm-23.1.0-4/bin/llvm-config"
[ -x "$P" ] || { echo "no $P: run gpu/llvm23-for-cubecl.sh first" >&2; exit 1; }
D=$(mktemp -d); trap 'rm -rf "$D"' EXIT
cat > "$D/t.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/IRReader.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/Linker.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>
void LLVMInitializeNVPTXTargetInfo(void); void LLVMInitializeNVPTXTarget(void);
void LLVMInitializeNVPTXTargetMC(void); void LLVMInitializeNVPTXAsmPrinter(void);
int main(int argc, char **argv) {
  LLVMInitializeNVPTXTargetInfo(); LLVMInitializeNVPTXTarget(); LLVMInitializeNVPTXTargetMC(); LLVMInitializeNVPTXAsmPrinter();
  const char *ir = "target triple = \"nvptx64-nvidia-cuda\"\n"
    "declare float @__nv_expf(float)\n"
    "define ptx_kernel void @k(ptr addrspace(1) %p) {\n  %v = load float, ptr addrspace(1) %p\n  %e = call float @__nv_expf(float %v)\n  store float %e, ptr addrspace(1) %p\n  ret void\n}\n";
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(ir, strlen(ir), "k");
  LLVMModuleRef m; char *err = NULL;
  if (LLVMParseIRInContext(ctx, buf, &m, &err)) { printf("parse: %s\n", err); return 1; }
  if (argc > 1) { /* link libdevice */
    LLVMMemoryBufferRef lb; LLVMModuleRef lib;
    if (LLVMCreateMemoryBufferWithContentsOfFile(argv[1], &lb, &err)) { printf("read: %s\n", err); return 1; }
    if (LLVMParseBitcodeInContext2(ctx, lb, &lib)) { printf("bitcode parse failed\n"); return 1; }
    LLVMSetTarget(lib, "nvptx64-nvidia-cuda");
    if (LLVMLinkModules2(m, lib)) { printf("link failed\n"); return 1; }
  }
  LLVMTargetRef t;
  if (LLVMGetTargetFromTriple("nvptx64-nvidia-cuda", &t, &err)) { printf("target: %s\n", err); return 1; }
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(t, "nvptx64-nvidia-cuda", "sm_90", "+ptx80", LLVMCodeGenLevelAggressive, LLVMRelocDefault, LLVMCodeModelDefault);
  LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
  LLVMErrorRef e = LLVMRunPasses(m, "default<O3>", tm, o);
  if (e) { printf("passes failed\n"); return 1; }
  LLVMMemoryBufferRef out;
  if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMAssemblyFile, &err, &out)) { printf("emit: %s\n", err); return 1; }
  fwrite(LLVMGetBufferStart(out), 1, LLVMGetBufferSize(out), stdout);
  return 0;
}
C
gcc -O1 -c "$D/t.c" $("$P" --cflags) -o "$D/t.o"
g++ "$D/t.o" -L"$("$P" --libdir)" $("$P" --link-static --libs) $("$P" --link-static --system-libs) \
  -lstdc++ -Wl,--gc-sections -o "$D/t"
"$D/t" > "$D/plain.ptx"
grep -q '^\.target sm_90' "$D/plain.ptx" || { echo "no sm_90 PTX" >&2; exit 1; }
echo "PTX for sm_90: ok ($(grep -m1 '^\.version' "$D/plain.ptx"))"
if [ -n "$LIBDEVICE" ]; then
  "$D/t" "$LIBDEVICE" > "$D/libdevice.ptx"
  if grep -q '\.extern .*__nv_expf' "$D/libdevice.ptx" || ! grep -q 'ex2\.approx' "$D/libdevice.ptx"; then
    echo "libdevice was not linked" >&2; exit 1
  fi
  echo "with libdevice linked: ok (__nv_expf defined, ex2.approx emitted)"
fi
echo "glibc needed: $(objdump -T "$D/t" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
strip "$D/t"; echo "stripped: $(stat -c %s "$D/t") bytes"
