#!/usr/bin/env bash
# What a host with a real GPU does with `--gpu-arch` and with engines built under simulation.
# Run from the repository root on a machine with an NVIDIA GPU, after
#   mkdir -p .device && cp target/release/trtctl .device/
# The stand-in trtexec (tests/fixtures/trtexec) builds; TensorRT need not be installed.
set -u
T=$PWD/.device/trtctl
export TRTEXEC=$PWD/tests/fixtures/trtexec
work=$(mktemp -d)
export HOME=$work/home
mkdir -p "$HOME" "$work/models"
cp models/arcface_r100.onnx "$work/models/"
cd "$work" || exit 1
cat >engines.toml <<'TOML'
trt_version = "10.3.0"

[remote]
url = "file://remote"

[[model]]
name = "arcface_r100"
family = "arcface"
onnx = "models/arcface_r100.onnx"
version = "v1.0"
precisions = ["fp16"]
archs = ["sm_86", "sm_90"]
batch = { min = 1, opt = 8, max = 16 }
TOML
run() { echo; echo "\$ $*"; "$@"; echo "[exit $?]"; }
run nvidia-smi --query-gpu=index,name,compute_cap --format=csv
run "$T" gpus --json
echo; echo "--- the H100 host asked to apply as an sm_86 builder"
export TENSORRT_CACHE_DIR=$work/cache-h100
run "$T" plan --gpu-arch sm_86
run "$T" apply --gpu-arch sm_86
run find remote -type f
echo; echo "--- a GPU-less job (no visible GPU) builds sm_90 under simulation and publishes it"
export TENSORRT_CACHE_DIR=$work/cache-ci
run env CUDA_VISIBLE_DEVICES= "$T" apply --gpu-arch sm_90 --target '*:*:sm_90'
run grep -h '"simulated"' remote/arcface/arcface_r100_v1.0_fp16_sm_90_10.3.0.trt.json
echo; echo "--- the H100 host: never fetches it, builds its own on device 0"
export TENSORRT_CACHE_DIR=$work/cache-h100
run "$T" plan --target '*:*:sm_90'
run "$T" apply --target '*:*:sm_90'
run grep -h 'gpu_name\|simulated' cache-h100/arcface/arcface_r100_v1.0_fp16_sm_90_10.3.0.trt.json
run grep -h -- '--device=' cache-h100/logs/arcface_r100_v1.0_fp16_sm_90_10.3.0.trt.log
run env TENSORRT_CACHE_DIR="$work/cache-ci" "$T" cache verify
