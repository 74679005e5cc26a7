#!/usr/bin/env bash
# A SIMULATION, not a measurement: the fleet makespan of building 12 models of one arch on 3
# builders, with and without shared timing caches, under the stand-in trtexec's cost model
# (tests/fixtures/trtexec: a cold build takes 34.6 simulated seconds; a layer already in the
# timing cache costs 7.7/34.6 of a cold one, the published efficientnet-lite4 ratio).
#
# The models arrive in 4 releases of 3; in each release the 3 builders (separate processes and
# cache dirs, one file:// remote) each build one new model at the same time, as a fleet does.
# A release takes as long as its slowest builder; the makespan is the sum over releases.
# Without sharing each builder keeps only its own local timing cache (trtctl before sharing);
# with sharing each starts from the remote's cache when it is larger than its own. Builders are
# either long-lived (their cache dir survives between releases) or ephemeral (CI runners: a
# fresh cache dir every release).
#
#   scripts/bench-timing-fleet.sh            # prints a table for docs/benchmarks.md
set -euo pipefail

source "$(dirname "$0")/lib/bench.sh"

models=12 builders=3
releases=$((models / builders))

# 12 models with different bytes (a repeated protobuf field keeps each valid ONNX).
mkdir -p "$work/models"
{
    echo 'trt_version = "10.3.0"'
    echo '[remote]'
    echo "url = \"file://$work/remote\""
    echo '[defaults]'
    echo 'precisions = ["fp16"]'
    echo 'archs = ["sm_86"]'
} >"$work/engines.toml"
for ((m = 1; m <= models; m++)); do
    distinct_model "$m" "$work/models/model$m.onnx"
    printf '[[model]]\nname = "model%d"\nonnx = "models/model%d.onnx"\nversion = "v1"\n' "$m" "$m" \
        >>"$work/engines.toml"
done

# One scenario: prints "makespan_secs bytes_down bytes_up warm_layers total_layers".
scenario() {
    local mode=$1 builders_live=$2 dir="$work/$1-$2"
    rm -rf -- "$work/remote"
    mkdir -p "$dir"
    local makespan=0 down=0 up=0
    for ((r = 0; r < releases; r++)); do
        local pids=()
        for ((b = 1; b <= builders; b++)); do
            local model=$((r * builders + b))
            (
                cd "$work"
                env -i PATH="$PATH" HOME="$work" TRTEXEC="$repo/tests/fixtures/trtexec" \
                    TENSORRT_CACHE_DIR="$dir/builder$b$([ "$builders_live" = ephemeral ] && echo ".$r")" \
                    STUB_COST_LOG="$dir/cost.$r.$b" \
                    "$trtctl" apply --json --gpu-arch sm_86 --target "model$model:*:sm_86" \
                    $([ "$mode" = local ] && echo --no-shared-timing-cache) \
                    >"$dir/out.$r.$b"
            ) &
            pids+=($!)
        done
        wait "${pids[@]}"
        local slowest
        slowest=$(cut -d' ' -f2 "$dir"/cost."$r".* | sort -g | tail -1)
        makespan=$(awk -v a="$makespan" -v b="$slowest" 'BEGIN { print a + b }')
    done
    # Timing-cache bytes from each apply's summary (engines are not counted).
    read -r down up < <(sed -n 's/.*"timing":{[^}]*"bytes_fetched":\([0-9]*\),"bytes_uploaded":\([0-9]*\)}.*/\1 \2/p' \
        "$dir"/out.* | awk '{ d += $1; u += $2 } END { print d + 0, u + 0 }')
    local warm total
    read -r warm total < <(cat "$dir"/cost.* | awk '{ w += $3; t += $4 } END { print w, t }')
    echo "$makespan $down $up $warm $total"
}

cold=$(awk -v m="$models" -v b="$builders" 'BEGIN { print 34.6 * m / b }')
echo "SIMULATION (stand-in trtexec cost model), $builders builders x $models models of one arch, $releases releases:"
echo
echo "| builders | timing caches | simulated makespan | layers found in a cache | timing-cache bytes down / up |"
echo "|---|---|---:|---:|---:|"
echo "| any | none (every build cold) | ${cold} s | 0 | 0 / 0 |"
for live in long-lived ephemeral; do
    for mode in local shared; do
        read -r span down up warm total < <(scenario "$mode" "$live")
        label=$([ "$mode" = local ] && echo "local per builder" || echo "shared through the remote")
        echo "| $live | $label | ${span} s | $warm / $total | $down / $up |"
    done
done
