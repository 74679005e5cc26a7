# Sourced by the scripts/bench-*.sh simulations: a fresh debug build of trtctl, and a scratch
# dir that is removed on exit.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo build -q
repo=$(pwd)
trtctl="$repo/target/debug/trtctl"
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# distinct_model N FILE: the tiny ONNX model with bytes of its own (a repeated protobuf field,
# so each stays valid ONNX), for N up to 255.
distinct_model() {
    { cat "$repo/models/arcface_r100.onnx" && printf '\x28'"\\x$(printf %02x "$1")"; } >"$2"
}
