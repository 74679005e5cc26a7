#!/usr/bin/env bash
# What a real GPU's model looks like to trtctl: its model key, recorded by the engines built on
# it, and the warning a plan gives a host of another model of the same arch.
# Run from the repository root on a machine with an NVIDIA GPU, after
#   mkdir -p .device && cp target/release/trtctl .device/
# The stand-in trtexec (tests/fixtures/trtexec) builds; TensorRT need not be installed.
set -u
T=$PWD/.device/trtctl
export TRTEXEC=$PWD/tests/fixtures/trtexec
work=$(mktemp -d)
export HOME=$work/home TENSORRT_CACHE_DIR=$work/cache
mkdir -p "$HOME" "$work/models"
cp models/arcface_r100.onnx "$work/models/"
cd "$work" || exit 1
cat >engines.toml <<'TOML'
trt_version = "10.3.0"

[[model]]
name = "arcface_r100"
family = "arcface"
onnx = "models/arcface_r100.onnx"
version = "v1.0"
precisions = ["fp16"]
archs = ["sm_90"]
TOML
run() { echo; echo "\$ $*"; "$@"; echo "[exit $?]"; }
run "$T" gpus
run "$T" apply
run grep -h 'gpu_name\|gpu_model\|trt_build' cache/arcface/arcface_r100_v1.0_fp16_sm_90_10.3.0.trt.json
run "$T" plan
run "$T" plan --gpu-arch sm_90 --gpu-model "NVIDIA GH200 480GB"
