"""fetch(): a deploy host installs exactly what engines.lock pins, with no ONNX and no trtexec."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import trtctl
from conftest import Project

MANIFEST = """
trt_version = "10.3.0"

[remote]
url = "file://{remote}"

[[model]]
name = "arcface_r100"
onnx = "models/arcface_r100.onnx"
version = "v1.0"
archs = ["sm_86"]
precisions = ["fp16", "fp32"]
batch = {{ min = 1, opt = 8, max = 16 }}
"""


def built_and_locked(project: Project) -> Path:
    """CI's side: build, publish and lock both engines."""
    manifest = project.write_manifest(MANIFEST.format(remote=project.root / "remote"))
    assert trtctl.apply(manifest).ok
    assert trtctl._trtctl.cli_main(["trtctl", "lock", "-f", str(manifest)]) == 0
    assert (project.root / "engines.lock").exists()
    return manifest


def deploy_host(project: Project, monkeypatch: pytest.MonkeyPatch, cache: str) -> None:
    """A host with an empty cache, no ONNX files and no trtexec."""
    monkeypatch.setenv("TENSORRT_CACHE_DIR", str(project.root / cache))
    monkeypatch.delenv("TRTEXEC")
    shutil.rmtree(project.models)


def test_fetch_installs_the_pinned_bytes_without_onnx_or_trtexec(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = built_and_locked(project)
    deploy_host(project, monkeypatch, "deploy-cache")
    fetched = trtctl.fetch(manifest)
    assert sorted(e.key for e in fetched.engines) == [
        "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt",
        "arcface/arcface_r100_v1.0_fp32_sm_86_10.3.0.trt",
    ]
    assert fetched.unpinned == []
    for engine in fetched.engines:
        assert engine.downloaded == engine.size > 0
        built = project.cache / engine.key
        with open(engine, "rb") as installed:
            assert installed.read() == built.read_bytes()
    again = trtctl.fetch(manifest, target="arcface_r100:fp16")
    assert [(e.key.endswith("_fp16_sm_86_10.3.0.trt"), e.downloaded) for e in again.engines] == [(True, 0)]


def test_fetch_refuses_remote_bytes_the_lock_does_not_pin(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = built_and_locked(project)
    remote_engine = project.root / "remote" / "arcface" / "arcface_r100_v1.0_fp16_sm_86_10.3.0.trt"
    remote_engine.write_bytes(b"not the engine CI built")
    deploy_host(project, monkeypatch, "deploy-cache")
    with pytest.raises(trtctl.IntegrityError, match="not the pinned ones|other bytes than the lock pins"):
        trtctl.fetch(manifest)
    assert not (project.root / "deploy-cache" / "arcface" / remote_engine.name).exists()
    with pytest.raises(trtctl.InputError, match="sm_89"):
        trtctl.fetch(manifest, gpu_arch="sm_89")
