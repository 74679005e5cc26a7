"""The Python package on a host whose CUDA shows real GPUs (the stand-in driver): it builds on
the GPU of the engine's arch and never as if another arch were here. CUDA is detected once per
process, so each case runs in a child interpreter started with the stand-in driver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional

from conftest import Project

H100 = "NVIDIA H100 80GB HBM3,9.0,81559"

CHILD = """
import json, sys
import trtctl
gpu_arch = sys.argv[1] or None
try:
    engine, source = trtctl.build_or_load_engine("models/arcface_r100.onnx", "fp16", 8, gpu_arch=gpu_arch, remote=False)
    print(json.dumps({"name": engine.name, "path": engine.path, "source": source,
                      "trt_build": engine.trt_build, "gpu_model": engine.gpu_model}))
except trtctl.Error as e:
    print(json.dumps({"error": type(e).__name__, "message": str(e)}))
"""


def in_child(project: Project, stub_libcuda: str, gpu_arch: Optional[str]) -> Dict[str, Any]:
    env = {name: value for name, value in os.environ.items() if name != "TRTCTL_GPU_ARCH"}
    env.update(LD_LIBRARY_PATH=stub_libcuda, STUB_CUDA_GPUS=H100)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, gpu_arch or ""],
        env=env,
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: Dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_an_h100_host_builds_an_sm_90_engine_on_its_gpu(project: Project, stub_libcuda: str) -> None:
    built = in_child(project, stub_libcuda, None)
    assert built["source"] == "built", built
    assert built["name"].endswith("_fp16_sm_90_10.3.0.trt"), built
    assert (built["trt_build"], built["gpu_model"]) == ("10.3.0.26", "h100-80gb-hbm3"), built
    assert [line.split(" ")[2] for line in project.builds()] == ["0"]
    sidecar = json.loads(Path(built["path"] + ".json").read_text())
    assert sidecar["provenance"]["gpu_name"] == "NVIDIA H100 80GB HBM3"
    assert "simulated" not in sidecar["provenance"]


def test_gpu_arch_on_an_h100_host_raises_and_builds_nothing(project: Project, stub_libcuda: str) -> None:
    refused = in_child(project, stub_libcuda, "sm_86")
    assert refused["error"] == "GpuError", refused
    assert "NVIDIA H100 80GB HBM3 (sm_90), none of them sm_86" in refused["message"], refused
    assert project.builds() == []
    assert not any(project.cache.rglob("*.trt")), list(project.cache.rglob("*"))
