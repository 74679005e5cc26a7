#!/usr/bin/env bash
# The whole test suite, as CI runs it: the Rust tests, then the Python package built once into a
# venv of its own (maturin, pytest, moto and mypy from PyPI) and its tests on that build.
# Needs a Rust toolchain, Python >= 3.9 with venv, and the package registries (crates.io, PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

cargo test --locked

venv="$repo/target/py-venv"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
# Same target dir and profile as `cargo test`: only the extension crate itself is compiled anew.
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop --locked --quiet
"$venv/bin/python" -m mypy --strict python/trtctl examples/python tests/python
# NVIDIA's real tensorrt bindings (about 1 MB), downloaded once: tests/python/test_build_script.py
# reads the names in its tensorrt.so, never imports it. Only an unreachable PyPI skips that test.
# The newest TensorRT 10: it still has the weakly typed precision flags and EXPLICIT_BATCH (gone
# in 11) and already SAME_COMPUTE_CAPABILITY (new in 10.9): one wheel with every name the build
# script uses for some version.
bindings="$repo/target/tensorrt-bindings" bindings_version=10.16.1.11
mkdir -p "$bindings"
if ! compgen -G "$bindings/tensorrt_cu12_bindings-$bindings_version-*.whl" >/dev/null; then
  if "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64 \
    -d "$bindings" "tensorrt-cu12-bindings==$bindings_version" 2>"$bindings/download.log"; then
    rm -f "$bindings/UNREACHABLE"
  elif "$venv/bin/python" -m pip index versions tensorrt-cu12-bindings >/dev/null 2>&1; then
    cat "$bindings/download.log" >&2
    echo "PyPI answers, yet tensorrt-cu12-bindings==$bindings_version did not download" >&2
    exit 1
  else
    echo "pip reached no package index (pip download and pip index failed; see $bindings/download.log)" \
      >"$bindings/UNREACHABLE"
  fi
fi
TRTCTL_NATIVE="$repo/target/debug/trtctl" "$venv/bin/python" -m pytest -q tests/python
