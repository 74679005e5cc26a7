#!/usr/bin/env bash
# `trtctl plan` wall time on a machine where nothing points at S3 (the example manifest, its
# s3:// remote kept in the embedded stand-in), for two builds side by side: the credential
# chain's detection path (AWS shared files, DMI data) runs live; it sends no packet.
#
#   scripts/bench-plan-nothing-configured.sh BEFORE_BINARY AFTER_BINARY [RUNS]
#
# Runs alternate between the two binaries so that machine noise hits both alike; prints the
# median and the mean of each, in milliseconds.
set -euo pipefail

before="$1" after="$2" runs="${3:-200}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home" "$work/models"
cp "$repo/engines.toml.example" "$work/engines.toml"
cp "$repo/models/arcface_r100.onnx" "$work/models/arcface_r100.onnx"

run() {
    (cd "$work" && env -i HOME="$work/home" PATH="$PATH" "$1" plan -q --gpu-arch sm_86 >/dev/null)
}

declare -a times_before times_after
run "$before"; run "$after" # warm the page cache
for ((i = 0; i < runs; i++)); do
    for which in before after; do
        binary="$before"; [[ $which == after ]] && binary="$after"
        start=$(date +%s%N); run "$binary"; end=$(date +%s%N)
        if [[ $which == before ]]; then times_before+=($((end - start))); else times_after+=($((end - start))); fi
    done
done

summary() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1; sum += $1 } END {
        printf "median %.2f ms, mean %.2f ms (%d runs)\n", v[int((NR + 1) / 2)] / 1e6, sum / NR / 1e6, NR }'
}
echo "before: $(summary "${times_before[@]}")"
echo "after:  $(summary "${times_after[@]}")"
