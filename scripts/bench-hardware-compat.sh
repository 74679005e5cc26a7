#!/usr/bin/env bash
# A SIMULATION, not a measurement: the builds a fleet of 5 archs (sm_75, sm_80, sm_86, sm_89,
# sm_90) needs for 20 models at fp16, with one engine per arch and with
# `hardware_compatibility = "ampere+"` (one sm_80-plus engine for the four archs from sm_80 on,
# sm_75 keeps its own). Build time is the stand-in trtexec's cost model (tests/fixtures/trtexec:
# 34.6 simulated seconds a cold build, less for layers already in the arch's timing cache),
# summed over the builds each arch's builder runs.
#
#   scripts/bench-hardware-compat.sh          # prints a table for docs/benchmarks.md
set -euo pipefail

source "$(dirname "$0")/lib/bench.sh"

models=20
mkdir -p "$work/models"
for ((m = 1; m <= models; m++)); do
    distinct_model "$m" "$work/models/model$m.onnx"
done

manifest() {
    {
        echo 'trt_version = "10.3.0"'
        echo '[defaults]'
        echo 'precisions = ["fp16"]'
        echo 'archs = ["sm_75", "sm_80", "sm_86", "sm_89", "sm_90"]'
        [ "$1" = ampere+ ] && echo 'build = { hardware_compatibility = "ampere+" }'
        for ((m = 1; m <= models; m++)); do
            printf '[[model]]\nname = "model%d"\nonnx = "models/model%d.onnx"\nversion = "v1"\n' "$m" "$m"
        done
    } >"$work/engines.toml"
}

# One fleet: every arch's builder applies on its own cache; prints "builds simulated_secs".
fleet() {
    manifest "$1"
    rm -rf -- "$work/caches" "$work/cost.log"
    for arch in sm_75 sm_80 sm_86 sm_89 sm_90; do
        # Under ampere+ the sm_86 builder takes the sm_80-plus engines; sm_80, sm_89 and sm_90
        # have nothing of their own to build.
        target="*:*:$arch"
        [ "$1" = ampere+ ] && [ "$arch" = sm_86 ] && target="*:*:sm_80-plus"
        (
            cd "$work"
            env -i PATH="$PATH" HOME="$work" TRTEXEC="$repo/tests/fixtures/trtexec" \
                TENSORRT_CACHE_DIR="$work/caches/$arch" STUB_COST_LOG="$work/cost.log" \
                "$trtctl" apply --quiet --no-upload --gpu-arch "$arch" \
                --target "$target" \
                >/dev/null 2>&1 || true
        )
    done
    awk '{ n++; s += $2 } END { printf "%d %.0f\n", n, s }' "$work/cost.log"
}

echo "| engines per model | builds | simulated build time (s) |"
echo "|---|---|---|"
read -r builds secs < <(fleet per-arch)
echo "| one per arch (5) | $builds | $secs |"
read -r builds secs < <(fleet ampere+)
echo "| ampere+ (sm_75 + sm_80-plus) | $builds | $secs |"
