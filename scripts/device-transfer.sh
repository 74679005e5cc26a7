#!/usr/bin/env bash
# The transfer comparison on a machine without network access: `trtctl apply` (upload only,
# then fetch only, sha256-verified) against `s5cmd cp` of the same 1 GiB engine, both against
# s3s-fs on loopback, runs alternating, each with its wall time and peak RSS.
#
#   scripts/device-transfer.sh BIN_DIR            # BIN_DIR holds trtctl, s5cmd, s3s-fs
#   TRANSFER_MIB=256 TRANSFER_RUNS=1 scripts/device-transfer.sh BIN_DIR   # quicker
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

work=$(mktemp -d)
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port=$((20000 + RANDOM % 20000))
export AWS_ACCESS_KEY_ID=device-bench AWS_SECRET_ACCESS_KEY=device-bench-secret-1
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export ARTIFACTS_ENDPOINT=http://127.0.0.1:$port
export ARTIFACTS_ACCESS_KEY=$AWS_ACCESS_KEY_ID ARTIFACTS_SECRET_KEY=$AWS_SECRET_ACCESS_KEY
mkdir -p "$work/data/bench" "$work/project/models"
"$bin/s3s-fs" --host 127.0.0.1 --port "$port" --access-key "$AWS_ACCESS_KEY_ID" \
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
[builder]
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
s5() { "$bin/s5cmd" --endpoint-url "$ARTIFACTS_ENDPOINT" "$@"; }
wipe_remote() { rm -rf "$work/data/bench/engines" "$work/data/bench/s5"; }

echo "engine: $mib MiB, $runs runs each, alternating; trtctl $("$bin/trtctl" --version), $("$bin/s5cmd" version)"
echo "| | run | wall s | peak RSS MiB |"
echo "|---|---:|---:|---:|"
for run in $(seq "$runs"); do
    wipe_remote; sync
    echo "| trtctl upload | $run | $(measure "$bin/trtctl" apply -q --gpu-arch sm_90 | tr ' ' '|' | sed 's/|/ | /') |"
    sync
    echo "| s5cmd upload | $run | $(measure "$bin/s5cmd" --endpoint-url "$ARTIFACTS_ENDPOINT" cp "$engine" "s3://bench/s5/engine.trt" | tr ' ' '|' | sed 's/|/ | /') |"
done
wipe_remote
"$bin/trtctl" apply -q --gpu-arch sm_90   # the engine in the remote for the fetches
for run in $(seq "$runs"); do
    rm -rf "$work/project/fetched" "$work/s5.trt"; sync
    echo "| trtctl fetch (verified) | $run | $(TENSORRT_CACHE_DIR="$work/project/fetched" measure "$bin/trtctl" apply -q --gpu-arch sm_90 | tr ' ' '|' | sed 's/|/ | /') |"
    sync
    echo "| s5cmd fetch | $run | $(measure "$bin/s5cmd" --endpoint-url "$ARTIFACTS_ENDPOINT" cp "s3://bench/$key" "$work/s5.trt" | tr ' ' '|' | sed 's/|/ | /') |"
done
cmp "$engine" "$work/s5.trt"
cmp "$engine" "$(find "$work/project/fetched" -name '*.trt' | head -1)"
echo "both fetched copies are byte-identical to the engine"
