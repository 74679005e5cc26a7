"""The Engine object: a path-like, verified engine that TensorRT can deserialize."""

from __future__ import annotations

import hashlib
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


def test_a_truncated_cached_engine_is_rebuilt_never_handed_out(project: Project) -> None:
    engine, _ = trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
    whole = engine.read_bytes()
    with open(engine.path, "r+b") as engine_file:
        engine_file.truncate(10)
    with pytest.raises(trtctl.IntegrityError, match="no longer the engine this handle was given"):
        engine.read_bytes()
    again, source = trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
    assert source == "built", "the plan's verdict (rebuild) is carried out, not taken as done"
    assert len(project.builds()) == 2
    # A rebuild is not bitwise identical to the first build: whole again, not the same bytes.
    rebuilt = again.read_bytes()
    assert rebuilt == Path(again.path).read_bytes()
    assert len(rebuilt) == len(whole) and rebuilt[:28] == whole[:28]


def test_a_handle_never_reads_another_build_committed_under_its_name(
    project: Project, stand_in_tensorrt: object
) -> None:
    first, _ = trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
    assert first.deserialize().blob == first.read_bytes()
    project.touch_model("arcface_r100", 7)
    second, source = trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
    assert (source, second.path) == ("built", first.path), "a declared version keeps the name"
    # Only the digest tells the two builds apart: they have the same length.
    assert second.size == first.size and second.sha256 != first.sha256
    received = list(stand_in_tensorrt.received)  # type: ignore[attr-defined]
    for read in (first.read_bytes, first.deserialize):
        with pytest.raises(trtctl.IntegrityError) as raised:
            read()
        assert str(raised.value) == (
            f"{first.path} is no longer the engine this handle was given (sha256 {first.sha256}, "
            f"{first.size} bytes; now sha256 {second.sha256}, {second.size} bytes): another build "
            "replaced it or it was damaged; ask for the engine again"
        )
    assert stand_in_tensorrt.received == received, "TensorRT never saw the other build's bytes"  # type: ignore[attr-defined]
    assert hashlib.sha256(second.read_bytes()).hexdigest() == second.sha256


def test_an_ampere_plus_engine_is_one_for_every_arch_from_sm_80(project: Project) -> None:
    shared = (project.root / "shared").as_uri()
    built, source = trtctl.build_or_load_engine(
        "models/arcface_r100.onnx", version="v1.0", remote=shared, hardware_compatibility="ampere+"
    )
    assert source == "built"
    assert built.name == "arcface_r100_v1.0_fp16_sm_80-plus_10.3.0.trt"
    assert (built.identity.arch, built.hardware_compatibility) == ("sm_80-plus", "ampere+")
    assert built.version_compatible is False
    # An sm_90 host with its own cache is handed the same engine from the remote.
    fetched, source = trtctl.build_or_load_engine(
        "models/arcface_r100.onnx",
        version="v1.0",
        remote=shared,
        hardware_compatibility="ampere+",
        gpu_arch="sm_90",
        cache_dir=project.root / "h100-cache",
    )
    assert (source, fetched.name, fetched.sha256) == ("remote", built.name, built.sha256)
    plain, _ = trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0", remote=False)
    assert (plain.identity.arch, plain.hardware_compatibility) == ("sm_86", None)
