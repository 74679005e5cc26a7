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
TRTCTL_NATIVE="$repo/target/debug/trtctl" "$venv/bin/python" -m pytest -q tests/python
