#!/usr/bin/env bash
# GPU check: run from the repository root on any machine with an NVIDIA GPU, after
#   mkdir -p .device && cp target/release/trtctl .device/ && cp scripts/gpu-check.toml .device/engines.toml
# The stand-in trtexec (tests/fixtures/trtexec) builds; replace TRTEXEC with a real one to build real engines.
# Run from the repository root on a machine with an NVIDIA GPU.
set -u
T=.device/trtctl
M=.device/engines.toml
export TRTEXEC=$PWD/tests/fixtures/trtexec
export HOME=$(mktemp -d)
run() { echo; echo "\$ $*"; "$@"; echo "[exit $?]"; }
run nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv
run $T --version
run $T gpus -f $M
run $T gpus --json -f $M
echo; echo "--- machine A: empty cache, empty file:// remote"
export TENSORRT_CACHE_DIR=$HOME/cache-a
run $T plan -f $M
run $T apply -f $M
run $T apply -f $M --allow-missing
run grep -h -- '--device=' $TENSORRT_CACHE_DIR/logs/arcface_r100_v1.0_fp16_sm_90_10.3.0.trt.log
run $T cache ls -f $M
echo; echo "--- machine B: empty cache, same remote"
export TENSORRT_CACHE_DIR=$HOME/cache-b
run $T plan -f $M
run $T apply -f $M --allow-missing
run cmp $HOME/cache-a/arcface/arcface_r100_v1.0_fp16_sm_90_10.3.0.trt $HOME/cache-b/arcface/arcface_r100_v1.0_fp16_sm_90_10.3.0.trt
echo; echo "--- no visible GPU: a state, not a crash"
run env CUDA_VISIBLE_DEVICES= $T gpus
run cat /etc/os-release
