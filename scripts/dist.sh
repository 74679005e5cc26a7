#!/usr/bin/env bash
# Every artifact of a release, into dist/: the sdist, abi3 wheels tagged manylinux_2_28 for
# x86_64 and aarch64, `trtctl` binaries for both (glibc >= 2.28, see docs/install.md for why not
# static musl) and SHA256SUMS. Cross-builds with zig (ziglang from PyPI), so one x86_64 Linux
# host with a Rust toolchain (rustup), Python >= 3.9 and PyPI builds it all; the release
# workflow runs exactly this, then scripts/check-artifacts.sh on each arch.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
venv=${DIST_VENV:-$repo/target/dist-venv}
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/dist-requirements.txt
export VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH"
source scripts/lib/zig-toolchain.sh
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)

rm -rf dist && mkdir dist
maturin sdist --out dist
for triple in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu; do
  rustup target list --installed | grep -qx "$triple" || rustup target add "$triple"
  (
    zig_toolchain "$triple"
    # The wheel's extension and the binary share one build of the dependencies per arch.
    maturin build --locked --release --target "$triple" --compatibility manylinux_2_28 \
      -i "$venv/bin/python" -o dist
    cargo build --locked --release --target "$triple" -p trtctl --bin trtctl
    cp "target/$triple/release/trtctl" "dist/trtctl-$version-${triple%%-*}-linux-gnu"
  )
done
(cd dist && sha256sum -- * >SHA256SUMS)
ls -l dist
