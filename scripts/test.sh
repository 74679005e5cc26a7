#!/usr/bin/env bash
# The whole test suite, as CI runs it: the Rust tests, a short run of each fuzz target, then the
# Python package built once into a venv of its own (maturin, pytest, moto and mypy from PyPI)
# and its tests on that build.
# Needs a Rust toolchain, Python >= 3.9 with venv, and the package registries (crates.io, PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

cargo test --locked

# The fuzz targets (fuzz/), each for FUZZ_SECS seconds from its seeds: they keep building and
# catch shallow crashes; longer runs are described in docs/reliability.md. They need a nightly
# toolchain and cargo-fuzz (`cargo install cargo-fuzz`); without either this says so and skips.
fuzz_secs=${FUZZ_SECS:-4}
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: skipped, no nightly toolchain (rustup toolchain install nightly)"
elif ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz: skipped, cargo-fuzz is not installed (cargo install cargo-fuzz)"
else
  (
    cd fuzz
    started=$SECONDS
    cargo +nightly fuzz build --dev --sanitizer none
    for target in $(cargo +nightly fuzz list); do
      mkdir -p "corpus/$target"
      seeds=()
      [ -d "seeds/$target" ] && seeds=("seeds/$target")
      log="corpus/$target.log"
      if ! cargo +nightly fuzz run --dev --sanitizer none "$target" "corpus/$target" "${seeds[@]}" \
        -- -max_total_time="$fuzz_secs" >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz: $target failed; the input is under fuzz/artifacts/$target/" >&2
        exit 1
      fi
      echo "fuzz: $target ok, $(grep -o 'Done [0-9]* runs' "$log" | tail -n 1 | cut -d' ' -f2) runs in ${fuzz_secs}s"
    done
    echo "fuzz: $((SECONDS - started))s in all"
  )
fi

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
