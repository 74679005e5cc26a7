#!/usr/bin/env bash
# The whole test suite, as CI runs it: the Rust tests, a short run of each fuzz target, the
# release artifacts built in cheap profiles and checked as users get them, then the Python
# package's tests on the x86_64 wheel (maturin, pytest, moto and mypy from PyPI, in a venv of
# its own).
# Needs a Rust toolchain, Python >= 3.9 with venv, and the package registries (crates.io, PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
venv="$repo/target/py-venv"
artifacts="$repo/target/artifacts-check"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)

# The fuzz targets (fuzz/), each for FUZZ_SECS seconds from its seeds: they keep building and
# catch shallow crashes; longer runs are described in docs/reliability.md. They need a nightly
# toolchain and cargo-fuzz (`cargo install cargo-fuzz`); without either this says so and skips.
fuzz_smoke() {
  local fuzz_secs=${FUZZ_SECS:-4} started=$SECONDS target log seeds
  if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: skipped, no nightly toolchain (rustup toolchain install nightly)"
    return
  elif ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: skipped, cargo-fuzz is not installed (cargo install cargo-fuzz)"
    return
  fi
  cd fuzz
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
  cd "$repo"
}

python_env() {
  [ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r tests/python/requirements.txt -r scripts/dist-requirements.txt
}

# The release artifacts, built as scripts/dist.sh builds them but in cheap profiles, and checked
# as users get them (docs/install.md): manylinux_2_28 tags, `pip install --platform`, glibc 2.28,
# a plan of the example from each wheel and binary, the aarch64 ones under qemu-user (which
# scripts/check-artifacts.sh installs from Debian, with arm64 glibc and Python, when missing).
with_zig() {
  export VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" ZIG_PYTHON="$venv/bin/python"
}

# aarch64: a cross build of its own, in the `smoke` profile (no optimization, no debug info): the
# wheel and the binary share its dependencies.
aarch64_artifacts() {
  rustup target list --installed | grep -qx aarch64-unknown-linux-gnu \
    || rustup target add aarch64-unknown-linux-gnu
  (
    with_zig
    source scripts/lib/zig-toolchain.sh
    zig_toolchain aarch64-unknown-linux-gnu
    maturin build --locked --quiet --profile smoke --target aarch64-unknown-linux-gnu \
      --compatibility manylinux_2_28 -i "$venv/bin/python" -o "$artifacts"
    cargo build --locked --quiet --profile smoke --target aarch64-unknown-linux-gnu -p trtctl --bin trtctl
  )
  cp target/aarch64-unknown-linux-gnu/smoke/trtctl "$artifacts/trtctl-$version-aarch64-linux-gnu"
  PYTHON="$venv/bin/python" scripts/check-artifacts.sh "$artifacts" aarch64
}

# x86_64: the extension and binary of `cargo test`'s target dir and profile, only relinked by zig
# for glibc 2.28 (`-C linker` reaches the final crate alone, so nothing else rebuilds). The Python
# tests below run on this very wheel.
x86_64_artifacts() {
  (
    with_zig
    export ZIG_CC_TARGET=x86_64-linux-gnu.2.28
    maturin build --locked --quiet --profile dev --compatibility manylinux_2_28 \
      -i "$venv/bin/python" -o "$artifacts" -- -C linker="$repo/scripts/zig-cc"
    cargo rustc --locked --quiet -p trtctl --bin trtctl -- -C linker="$repo/scripts/zig-cc"
  )
  cp target/debug/trtctl "$artifacts/trtctl-$version-x86_64-linux-gnu"
  PYTHON="$venv/bin/python" scripts/check-artifacts.sh "$artifacts" x86_64
}

# What the Rust tests don't need runs beside them, at a lower priority: the venv's downloads, the
# aarch64 cross build and the fuzz runs keep the second core busy while the tests wait on their
# servers and stand-ins. In a process group of its own, so that it stops when this script does;
# its output is shown once it is done.
rm -rf "$artifacts" && mkdir -p "$artifacts"
side_log="$repo/target/test-side-lane.log"
set -m
(
  renice -n 10 -p "$BASHPID" >/dev/null
  python_env
  aarch64_artifacts
  fuzz_smoke
) </dev/null >"$side_log" 2>&1 &
side_lane=$!
set +m
trap 'kill -- "-$side_lane" 2>/dev/null || true' EXIT

cargo test --locked

if ! wait "$side_lane"; then
  cat "$side_log"
  echo "the side lane failed (its output is above, and in $side_log)" >&2
  exit 1
fi
trap - EXIT
cat "$side_log"

x86_64_artifacts
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
  "$artifacts"/trtctl-*-manylinux_2_28_x86_64.whl
"$venv/bin/actionlint" .github/workflows/*.yml
echo "actionlint: .github/workflows clean"
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
