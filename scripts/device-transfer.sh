#!/usr/bin/env bash
# The transfer comparison on a machine without network access: `trtctl apply` (upload only,
# then fetch only, sha256-verified) against `s5cmd cp` of the same 1 GiB engine, both against
# s3s-fs on loopback, runs alternating, each with its wall time and peak RSS.
#
#   scripts/device-transfer.sh BIN_DIR            # BIN_DIR holds trtctl, s5cmd, s3s-fs
#   TRANSFER_MIB=256 TRANSFER_RUNS=1 scripts/device-transfer.sh BIN_DIR   # quicker
#   TRANSFER_BASELINE=/path/to/other/trtctl scripts/device-transfer.sh BIN_DIR   # before/after
#
# TRANSFER_PART_MIB / TRANSFER_CONCURRENCY go to `[remote] part_size_mib` / `concurrency`
# (default: trtctl's defaults). TRANSFER_BASELINE, another trtctl binary, is timed in the same
# alternation with the same settings, for a before/after comparison on one machine.
# TRANSFER_SERVER_LOG=FILE keeps the server's debug log (a timestamped line per part written
# and per part concatenated on completion) in FILE: where an upload's time goes.
#
# BIN_DIR comes from scripts/device-transfer-prepare.sh. Needs bash, coreutils and python3
# (for wait4's peak RSS; /usr/bin/time -v is used when python3 is missing). The engine is made
# by the stand-in trtexec of tests/fixtures, so run it from a checkout of this repository.
set -euo pipefail

bin=$(cd "${1:?usage: $0 BIN_DIR (with trtctl, s5cmd, s3s-fs)}" && pwd)
mib=${TRANSFER_MIB:-1024}
runs=${TRANSFER_RUNS:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
for tool in trtctl s5cmd s3s-fs; do
    [[ -x $bin/$tool ]] || { echo "$bin/$tool is missing or not executable" >&2; exit 1; }
done
baseline=${TRANSFER_BASELINE:-}
if [[ -n $baseline ]]; then
    [[ -x $baseline ]] || { echo "$baseline is missing or not executable" >&2; exit 1; }
    baseline=$(cd "$(dirname "$baseline")" && pwd)/$(basename "$baseline")
fi
tuning=
[[ -n ${TRANSFER_PART_MIB:-} ]] && tuning+="part_size_mib = $TRANSFER_PART_MIB"$'\n'
[[ -n ${TRANSFER_CONCURRENCY:-} ]] && tuning+="concurrency = $TRANSFER_CONCURRENCY"$'\n'

work=$(mktemp -d)
server_pid=
server_log=${TRANSFER_SERVER_LOG:-}
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null
    [[ -n $server_log ]] && cp "$work/server.log" "$server_log"
    rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
export AWS_ACCESS_KEY_ID=device-bench AWS_SECRET_ACCESS_KEY=device-bench-secret-1
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export ARTIFACTS_ENDPOINT=http://127.0.0.1:$port
export ARTIFACTS_ACCESS_KEY=$AWS_ACCESS_KEY_ID ARTIFACTS_SECRET_KEY=$AWS_SECRET_ACCESS_KEY
mkdir -p "$work/data/bench" "$work/project/models"
env ${server_log:+RUST_LOG=s3s_fs=debug} "$bin/s3s-fs" --host 127.0.0.1 --port "$port" --access-key "$AWS_ACCESS_KEY_ID" \
    --secret-key "$AWS_SECRET_ACCESS_KEY" "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

# Wall seconds and peak RSS (MiB) of one command: "SECONDS RSS_MIB".
measure() {
    if command -v python3 >/dev/null; then
        python3 - "$@" <<'PY'
import os, sys, time
start = time.monotonic()
pid = os.fork()
if pid == 0:
    # The tool's own output (s5cmd prints each copy) stays out of the table.
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
wall = time.monotonic() - start
if os.waitstatus_to_exitcode(status) != 0:
    sys.exit(f"{sys.argv[1:]} failed: {status}")
print(f"{wall:.2f} {usage.ru_maxrss / 1024:.0f}")
PY
    else
        local start end
        start=$(date +%s.%N)
        /usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null
        end=$(date +%s.%N)
        echo "$(echo "$end - $start" | bc) $(awk '/Maximum resident/ {printf "%.0f", $6/1024}' "$work/time.txt")"
    fi
}

cd "$work/project"
printf 'transfer bench model\n' >models/big.onnx
cat >engines.toml <<TOML
trt_version = "10.3.0"
[cache]
dir = "cache"
[remote]
url = "s3://bench/engines"
$tuning[builder]
trtexec = "$repo/tests/fixtures/trtexec"
[defaults]
precisions = ["fp16"]
archs = ["sm_90"]
[[model]]
name = "big_model"
family = "big"
onnx = "models/big.onnx"
version = "v1"
TOML
# Machine A's engine: built once by the stand-in, not timed.
STUB_ENGINE_BYTES=$((mib * 1024 * 1024)) "$bin/trtctl" apply -q --no-upload --gpu-arch sm_90
engine=$(find cache -name '*.trt' | head -1)
key=engines/${engine#cache/}
wipe_remote() { rm -rf "$work/data/bench/engines" "$work/data/bench/s5"; }

# "| label | run | wall | rss |" for one measured command; with run 0 (the warm-up) it only runs.
row() {
    local label=$1 run=$2
    shift 2
    if [[ $run == 0 ]]; then
        "$@" >/dev/null
    else
        echo "| $label | $run | $(measure "$@" | sed 's/ / | /') |"
    fi
}
trtctls=("trtctl:$bin/trtctl")
[[ -n $baseline ]] && trtctls+=("trtctl (baseline):$baseline")
trtctl_uploads() {
    for entry in "${trtctls[@]}"; do
        wipe_remote; sync
        row "${entry%%:*} upload" "$1" "${entry#*:}" apply -q --gpu-arch sm_90
    done
}
s5cmd_upload() {
    wipe_remote; sync
    row "s5cmd upload" "$1" "$bin/s5cmd" --endpoint-url "$ARTIFACTS_ENDPOINT" cp "$engine" "s3://bench/s5/engine.trt"
}
trtctl_fetches() {
    for entry in "${trtctls[@]}"; do
        rm -rf "$work/project/fetched"; sync
        TENSORRT_CACHE_DIR="$work/project/fetched" row "${entry%%:*} fetch (verified)" "$1" "${entry#*:}" apply -q --gpu-arch sm_90
    done
}
s5cmd_fetch() {
    rm -rf "$work/s5.trt"; sync
    row "s5cmd fetch" "$1" "$bin/s5cmd" --endpoint-url "$ARTIFACTS_ENDPOINT" cp "s3://bench/$key" "$work/s5.trt"
}

# Run 0 is an untimed warm-up of every command: on a fresh VM, the first touch of guest memory
# costs a host fault, and whichever transfer grows the page cache first would pay it. The
# timed runs then alternate which tool goes first.
echo "engine: $mib MiB, $runs runs each after an untimed warm-up, alternating which tool goes first; trtctl $("$bin/trtctl" --version), $("$bin/s5cmd" version); remote settings: $(echo ${tuning:-defaults})"
echo "| | run | wall s | peak RSS MiB |"
echo "|---|---:|---:|---:|"
for run in $(seq 0 "$runs"); do
    if (( run % 2 == 0 )); then
        trtctl_uploads "$run"; s5cmd_upload "$run"
    else
        s5cmd_upload "$run"; trtctl_uploads "$run"
    fi
done
wipe_remote
"$bin/trtctl" apply -q --gpu-arch sm_90   # the engine in the remote for the fetches
for run in $(seq 0 "$runs"); do
    if (( run % 2 == 0 )); then
        trtctl_fetches "$run"; s5cmd_fetch "$run"
    else
        s5cmd_fetch "$run"; trtctl_fetches "$run"
    fi
done
cmp "$engine" "$work/s5.trt"
cmp "$engine" "$(find "$work/project/fetched" -name '*.trt' | head -1)"
echo "both fetched copies are byte-identical to the engine"
