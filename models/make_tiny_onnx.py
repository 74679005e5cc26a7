#!/usr/bin/env python3
"""Writes models/arcface_r100.onnx: a tiny but real model a TensorRT builder can build.

A stand-in for the real arcface_r100 with the same interface: input `input` float32
[batch, 3, 112, 112] with a dynamic batch axis, output `embedding` float32 [batch, 8].
Conv(3->8, 3x3, pad 1) -> Relu -> GlobalAveragePool -> Flatten. Weights are a fixed
arithmetic pattern, so the file is byte-for-byte reproducible.

Run:  pip install onnx && python3 models/make_tiny_onnx.py [OUTPUT]
(OUTPUT defaults to arcface_r100.onnx beside this script; a throwaway venv is enough:
python3 -m venv /tmp/onnx-venv && /tmp/onnx-venv/bin/pip install onnx.)
The model passes onnx.checker's full check (with shape inference) before it is saved.
"""
import os
import sys

import onnx
from onnx import TensorProto, helper

OUT_CHANNELS, IN_CHANNELS, KERNEL = 8, 3, 3


def weights():
    count = OUT_CHANNELS * IN_CHANNELS * KERNEL * KERNEL
    return [((i * 37) % 19 - 9) / 64.0 for i in range(count)]


def build():
    weight = helper.make_tensor(
        "conv_w", TensorProto.FLOAT, [OUT_CHANNELS, IN_CHANNELS, KERNEL, KERNEL], weights()
    )
    bias = helper.make_tensor(
        "conv_b", TensorProto.FLOAT, [OUT_CHANNELS], [i / 16.0 for i in range(OUT_CHANNELS)]
    )
    nodes = [
        helper.make_node("Conv", ["input", "conv_w", "conv_b"], ["conv"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["embedding"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "arcface_r100_tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 112, 112])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", OUT_CHANNELS])],
        initializer=[weight, bias],
    )
    model = helper.make_model(
        graph, producer_name="trtctl", opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "arcface_r100.onnx")
    onnx.save(build(), out)
    print(f"wrote {out}")
