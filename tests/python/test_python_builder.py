"""The python builder backend from the Python package: in a venv that has `pip install tensorrt`
(the stand-in in tests/fixtures/tensorrt) and no trtexec anywhere, engines are built with the
tensorrt of the interpreter the package runs in."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

import trtctl
from conftest import REPO, Project

STUB_TENSORRT = REPO / "tests" / "fixtures" / "tensorrt"


@pytest.fixture
def pip_tensorrt_only(project: Project, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No trtexec (neither TRTEXEC nor PATH has one), the stand-in tensorrt importable; returns
    the file its calls are recorded in."""
    monkeypatch.delenv("TRTEXEC")
    nothing = project.root / "no-programs"
    nothing.mkdir()
    monkeypatch.setenv("PATH", str(nothing))
    monkeypatch.setenv("PYTHONPATH", str(STUB_TENSORRT))
    calls = project.root / "calls.jsonl"
    monkeypatch.setenv("STUB_TRT_CALLS", str(calls))
    return calls


def recorded(calls: Path, name: str) -> List[Dict[str, Any]]:
    every = [json.loads(line) for line in calls.read_text().splitlines()]
    return [call for call in every if call["call"] == name]


def test_build_or_load_engine_builds_with_this_interpreters_tensorrt(
    project: Project, pip_tensorrt_only: Path
) -> None:
    engine, source = trtctl.build_or_load_engine(
        onnx_path="models/arcface_r100.onnx", precision="fp16", batch_size=4, version="v1.0"
    )
    assert source == "built"
    # Batch 4 is not the seed's default profile: the name says so.
    assert engine.identity == trtctl.Identity("arcface_r100-b4", "v1.0", "fp16", "sm_86", "10.3.0")
    plan = Path(engine).read_bytes()
    assert plan[:4] == b"ftrt" and plan[24:28] == bytes([10, 3, 0, 26])
    builders = recorded(pip_tensorrt_only, "Builder")
    assert [b["python"] for b in builders] == [sys.executable]
    assert recorded(pip_tensorrt_only, "set_flag") == [{"call": "set_flag", "flag": "FP16"}]
    again, source = trtctl.build_or_load_engine(
        onnx_path="models/arcface_r100.onnx", precision="fp16", batch_size=4, version="v1.0"
    )
    assert (source, again) == ("local_cache", engine)


def test_apply_builds_with_the_python_backend(project: Project, pip_tensorrt_only: Path) -> None:
    manifest = project.write_manifest(
        'trt_version = "auto"\n[builder]\nbackend = "python"\n'
        '[defaults]\nprecisions = ["fp32"]\narchs = ["sm_86"]\n'
        '[[model]]\nname = "arcface_r100"\nonnx = "models/arcface_r100.onnx"\nversion = "v1.0"\n'
        "batch = { min = 1, opt = 2, max = 4 }\n"
    )
    result = trtctl.apply(manifest)
    assert result.ok and result.report["built"] == 1
    assert recorded(pip_tensorrt_only, "set_flag") == []
    assert len(recorded(pip_tensorrt_only, "build_serialized_network")) == 1
