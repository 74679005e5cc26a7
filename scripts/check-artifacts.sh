#!/usr/bin/env bash
# Checks the wheels and binaries in DIR as users get them: each wheel carries the manylinux_2_28
# tag (auditwheel), installs with `pip install --only-binary=:all: --platform manylinux_2_28_ARCH
# --target`, and imports and plans from there; each binary needs no glibc newer than 2.28 and
# plans the example manifest. The aarch64 ones run under qemu-user with Debian's arm64 glibc and
# Python (scripts/lib/aarch64-runtime.sh). Run by scripts/test.sh (its smoke builds) and by the
# release workflow (dist/).
#   scripts/check-artifacts.sh DIR [ARCH...]      ARCH: x86_64, aarch64 (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
dir=$(cd "$1" && pwd)
shift
archs=(x86_64 aarch64)
[ $# -eq 0 ] || archs=("$@")
python=${PYTHON:-python3}
source scripts/lib/aarch64-runtime.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A home, cache and remote of its own, and no credentials: the plan never leaves this machine.
export HOME="$work/home" TENSORRT_CACHE_DIR="$work/cache" AWS_EC2_METADATA_DISABLED=true
unset ARTIFACTS_ENDPOINT ARTIFACTS_ACCESS_KEY ARTIFACTS_SECRET_KEY TRTCTL_REMOTE
manifest="$repo/engines.toml.example"

# The newest glibc symbol version an ELF file needs.
glibc_needed() {
  readelf --version-info --wide "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1
}

# plans_the_example LABEL COMMAND...: runs a plan of the example manifest, which needs no GPU.
plans_the_example() {
  local label=$1 out
  shift
  out=$("$@" 2>&1) || { echo "$out" >&2; echo "$label: the plan failed" >&2; exit 1; }
  grep -q '^Plan: .* 6 cannot be built here\.$' <<<"$out" \
    || { echo "$out" >&2; echo "$label: not the example's plan" >&2; exit 1; }
  echo "$label: plans the example"
}

for arch in "${archs[@]}"; do
  run=()
  if [ "$arch" != "$(uname -m)" ]; then
    [ "$arch" = aarch64 ] || { echo "$arch artifacts run only on an $arch host" >&2; exit 1; }
    aarch64_runtime "$repo/target/aarch64-sysroot"
    run=(qemu-aarch64 -L "$repo/target/aarch64-sysroot")
  fi

  wheels=("$dir"/trtctl-*-cp39-abi3-manylinux_2_28_"$arch".whl)
  [ -f "${wheels[0]}" ] || { echo "no manylinux_2_28 $arch wheel in $dir" >&2; exit 1; }
  wheel=${wheels[0]}
  tag=$("$python" -m auditwheel show "$wheel" | tr -s '\n ' '  ' | grep -o 'consistent with the following platform tag: "[^"]*"' | grep -o '"[^"]*"')
  [ "$tag" = "\"manylinux_2_28_$arch\"" ] \
    || { echo "$(basename "$wheel"): auditwheel says $tag, not manylinux_2_28_$arch" >&2; exit 1; }
  echo "$(basename "$wheel"): auditwheel: manylinux_2_28_$arch"
  site="$work/site-$arch"
  "$python" -m pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --platform "manylinux_2_28_$arch" --target "$site" "$wheel"
  echo "$(basename "$wheel"): installs with pip --platform manylinux_2_28_$arch --target"
  if [ "$arch" = "$(uname -m)" ]; then
    py=("$python")
  else
    py=("${run[@]}" "$repo/target/aarch64-sysroot/usr/bin/python3")
  fi
  plans_the_example "$(basename "$wheel") (import trtctl, its trtctl command in-process)" \
    env PYTHONPATH="$site" "${py[@]}" -c \
    'import sys, trtctl; from trtctl import _cli; sys.argv[1:] = ["plan", "-f", sys.argv[1]]; _cli.main()' \
    "$manifest"

  binary=$(find "$dir" -maxdepth 1 -name "trtctl-*-$arch-linux-gnu" -type f | head -n 1)
  [ -n "$binary" ] || { echo "no $arch binary (trtctl-VERSION-$arch-linux-gnu) in $dir" >&2; exit 1; }
  needed=$(glibc_needed "$binary")
  [ "$(printf '%s\n%s\n' "$needed" 2.28 | sort -V | tail -n 1)" = 2.28 ] \
    || { echo "$(basename "$binary") needs glibc $needed, more than 2.28" >&2; exit 1; }
  echo "$(basename "$binary"): needs glibc $needed at most"
  plans_the_example "$(basename "$binary")" "${run[@]}" "$binary" plan -f "$manifest"
done

if [ -f "$dir/SHA256SUMS" ]; then
  (cd "$dir" && sha256sum --check --quiet SHA256SUMS)
  echo "SHA256SUMS: every artifact matches"
fi
