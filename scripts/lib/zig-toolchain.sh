# Sourced by scripts/test.sh and scripts/dist.sh: zig as the C compiler, archiver and linker of a
# Rust target, so that what is built for it needs no glibc newer than 2.28 (the manylinux_2_28
# floor of NVIDIA's own TensorRT wheels) and the same commands build for x86_64 and aarch64.
# Needs the venv's maturin and ziglang (scripts/dist-requirements.txt) first on PATH.

# The glibc every artifact of a release runs on.
GLIBC_FLOOR=2.28

# zig_toolchain TRIPLE: the environment cargo and the cc crate read for TRIPLE
# (aarch64-unknown-linux-gnu); host build scripts and proc macros keep the system's tools.
zig_toolchain() {
  local triple=$1 arch=${1%%-*} upper
  upper=$(echo "$triple" | tr 'a-z-' 'A-Z_')
  export ZIG_CC_TARGET="$arch-linux-gnu.$GLIBC_FLOOR" ZIG_PYTHON="${ZIG_PYTHON:-$(command -v python)}"
  export "CARGO_TARGET_${upper}_LINKER=$repo/scripts/zig-cc"
  export "CC_${triple//-/_}=$repo/scripts/zig-cc" "AR_${triple//-/_}=$repo/scripts/zig-ar"
}
