#!/usr/bin/env bash
# A SIMULATION, not a measurement: what a weights-only update of 10 models x 4 archs costs in
# bytes moved and GPU time, with `weights = "embedded"` and with `weights = "refittable"`,
# under the stand-in trtexec's cost model (tests/fixtures/trtexec: a cold build takes 34.6
# simulated seconds, a layer already in the timing cache 7.7/34.6 of that, a refit 10 % of a
# cold build; an engine embeds its ONNX's weights, a stripped plan does not). Embedded engines
# take new weights as a new `version` (the remote's objects are never replaced); refittable
# ones keep theirs.
#
# One builder (GPUs of the 4 archs, simulated) and 4 hosts (one GPU arch each) share a file://
# remote. Release 1: the builder applies, then each host applies for its arch. Release 2, the
# measured one: every ONNX gets new weights of the same graph; the builder applies, then each
# host. GPU time is the sum of the stand-in's simulated seconds over every build and refit of
# release 2; bytes are the engine bytes each apply moved (its --json report).
#
#   scripts/bench-refit.sh            # prints a table for docs/benchmarks.md
#   WEIGHT_KIB=4096 scripts/bench-refit.sh
set -euo pipefail

source "$(dirname "$0")/lib/bench.sh"

models=10
archs=(sm_75 sm_80 sm_86 sm_89)
weight_kib=${WEIGHT_KIB:-1024}

# The models of one machine: a Conv with a weight of WEIGHT_KIB KiB drawn from SEED, then Relu
# (tests/integration/common/onnx_model.rs writes the same layout).
write_models() { # DIR SEED
    python3 - "$1" "$2" "$models" "$weight_kib" <<'PY'
import struct, sys
out, seed, count, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def varint(v):
    b = b""
    while True:
        byte, v = v & 0x7F, v >> 7
        if v:
            b += bytes([byte | 0x80])
        else:
            return b + bytes([byte])
def field(n, payload): return varint(n << 3 | 2) + varint(len(payload)) + payload
def num(n, v): return varint(n << 3) + varint(v)
for m in range(1, count + 1):
    floats = kib * 256
    weight = b"".join(struct.pack("<f", ((i * (seed * 31 + m)) % 19) / 64.0) for i in range(floats))
    conv = field(1, b"input") + field(1, b"conv_w") + field(2, b"conv") + field(4, b"Conv")
    relu = field(1, b"conv") + field(2, b"out") + field(4, b"Relu")
    tensor = num(1, floats) + num(2, 1) + field(8, b"conv_w") + field(9, weight)
    graph = field(1, conv) + field(1, relu) + field(2, b"g") + field(5, tensor) \
        + field(11, field(1, b"input")) + field(12, field(1, b"out"))
    model = num(1, 8) + field(7, graph) + field(8, num(2, 17))
    open(f"{out}/model{m}.onnx", "wb").write(model)
PY
}

# A machine: its manifest (every model at every arch), models and cache.
machine() { # DIR WEIGHTS
    mkdir -p "$1/models"
    {
        echo 'trt_version = "10.14.1"'
        echo '[remote]'
        echo "url = \"file://$work/remote-$2\""
        echo '[defaults]'
        echo 'precisions = ["fp16"]'
        echo "archs = [$(printf '"%s",' "${archs[@]}" | sed 's/,$//')]"
        echo "weights = \"$2\""
    } >"$1/engines.toml"
    for ((m = 1; m <= models; m++)); do
        printf '[[model]]\nname = "model%d"\nonnx = "models/model%d.onnx"\nversion = "v1"\n' "$m" "$m" \
            >>"$1/engines.toml"
    done
}

# `trtctl apply --json` on DIR for GPU ARCHS (comma-separated), its cost log in COSTS.
apply() { # DIR ARCHS COSTS [TARGET]
    (
        cd "$1"
        env -i PATH="$PATH" HOME="$1" TRTEXEC="$repo/tests/fixtures/trtexec" STUB_TRT_VERSION=10.14.1 \
            TENSORRT_CACHE_DIR="$1/cache" STUB_COST_LOG="$3" TRTCTL_GPU_ARCH="$2" \
            "$trtctl" apply --json ${4:+--target "$4"} | tail -1
    )
}

# One mode: prints "builds refits gpu_secs bytes_up bytes_down".
scenario() { # WEIGHTS
    local mode=$1 dir="$work/$1"
    local all
    all=$(IFS=,; echo "${archs[*]}")
    machine "$dir/builder" "$mode"
    write_models "$dir/builder/models" 1
    apply "$dir/builder" "$all" "$dir/cost.release1" >"$dir/first.builder"
    for arch in "${archs[@]}"; do
        machine "$dir/$arch" "$mode"
        write_models "$dir/$arch/models" 1
        apply "$dir/$arch" "$arch" "$dir/cost.release1" "*:*:$arch" >"$dir/first.$arch"
    done
    # Release 2: new weights everywhere, the same graph.
    for machine_dir in "$dir/builder" "${archs[@]/#/$dir/}"; do
        write_models "$machine_dir/models" 2
        # Embedded engines cannot take new weights under their name (the remote's objects are
        # never replaced): the update is a new version, as the plan's note says.
        [ "$mode" = refittable ] || sed -i 's/^version = "v1"$/version = "v2"/' "$machine_dir/engines.toml"
    done
    apply "$dir/builder" "$all" "$dir/cost.builder" >"$dir/report.builder"
    for arch in "${archs[@]}"; do
        apply "$dir/$arch" "$arch" "$dir/cost.hosts" "*:*:$arch" >"$dir/report.$arch"
    done
    touch "$dir/cost.builder" "$dir/cost.hosts"
    local builds refits
    builds=$(cat "$dir"/cost.builder "$dir"/cost.hosts | grep -vc ' refit ' || true)
    refits=$(cat "$dir"/cost.builder "$dir"/cost.hosts | grep -c ' refit ' || true)
    echo "$builds $refits $(gpu_secs "$dir/cost.builder") $(gpu_secs "$dir/cost.hosts")" \
        "$(moved "$dir"/first.*) $(moved "$dir"/report.*)"
}

gpu_secs() { awk '{ s += $2 } END { printf "%.1f", s }' "$1"; }

# "bytes up bytes down" of the engines in apply reports (the reports' own, not their timing
# caches').
moved() {
    cat "$@" | python3 -c 'import json, sys
r = [json.loads(l) for l in sys.stdin if l.strip()]
print(sum(x["bytes_uploaded"] for x in r), sum(x["bytes_fetched"] for x in r))'
}

echo "SIMULATION (stand-in trtexec cost model): a weights update of $models models x ${#archs[@]} archs,"
echo "weights of $weight_kib KiB per model, one builder and one host per arch:"
echo
echo "| weights | update: builds | update: refits | update: GPU time, builder / hosts | update: bytes up / down | first release: bytes up / down |"
echo "|---|---:|---:|---:|---:|---:|"
for mode in embedded refittable; do
    read -r builds refits builder hosts up1 down1 up2 down2 < <(scenario "$mode")
    echo "| $mode | $builds | $refits | ${builder} s / ${hosts} s | $up2 / $down2 | $up1 / $down1 |"
done
