"""The Engine object: a path-like, verified engine that TensorRT can deserialize."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

import trtctl
from conftest import Project

STAND_IN_TENSORRT = textwrap.dedent(
    """
    # A stand-in for TensorRT's Python module: records what it is asked to deserialize.
    received = []

    class Logger:
        WARNING = 2
        def __init__(self, severity):
            self.severity = severity

    class ICudaEngine:
        def __init__(self, blob):
            self.blob = blob

    class Runtime:
        def __init__(self, logger):
            self.logger = logger
        def deserialize_cuda_engine(self, blob):
            received.append(bytes(blob))
            return ICudaEngine(blob) if blob else None
    """
)


@pytest.fixture
def stand_in_tensorrt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    site = tmp_path / "site"
    site.mkdir()
    (site / "tensorrt.py").write_text(STAND_IN_TENSORRT)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "tensorrt", raising=False)
    import tensorrt  # type: ignore[import-not-found]

    return tensorrt


def test_deserialize_hands_the_engine_bytes_to_tensorrt(project: Project, stand_in_tensorrt: object) -> None:
    engine, _ = trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
    cuda_engine = engine.deserialize()
    on_disk = Path(engine.path).read_bytes()
    assert stand_in_tensorrt.received == [on_disk]  # type: ignore[attr-defined]
    assert cuda_engine.blob == on_disk
    assert cuda_engine is not None


def test_deserialize_uses_the_runtime_given(project: Project, stand_in_tensorrt: object) -> None:
    engine, _ = trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
    runtime = stand_in_tensorrt.Runtime(stand_in_tensorrt.Logger(0))  # type: ignore[attr-defined]
    assert engine.deserialize(runtime).blob == engine.read_bytes()


def test_deserialize_without_tensorrt_says_how_to_get_it(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, _ = trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(ImportError, match=r"needs TensorRT's Python package \(`pip install tensorrt`, matching TensorRT 10.3.0\)"):
        engine.deserialize()


def test_the_engine_is_path_like(project: Project) -> None:
    engine, _ = trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
    assert os.fspath(engine) == engine.path
    assert Path(engine).is_file()
    with open(engine, "rb") as engine_file:
        assert engine_file.read() == engine.read_bytes()


def test_a_truncated_cached_engine_is_an_integrity_error(project: Project) -> None:
    engine, _ = trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
    with open(engine.path, "r+b") as engine_file:
        engine_file.truncate(10)
    with pytest.raises(trtctl.IntegrityError) as raised:
        trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
    assert str(raised.value) == (
        f"{engine.path}: the engine has 10 bytes, its sidecar says {engine.size}; "
        "run `trtctl cache verify --fix` and ensure again"
    )
