"""Documented keywords of the Python API that no other test exercises: each test fails when the
behaviour docs/python.md describes breaks."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Dict, List

import pytest

import trtctl
from conftest import BUCKET, Project

ENGINE = "arcface_r100_v1.0_fp16_sm_86_10.3.0.trt"

MANIFEST = """
trt_version = "10.3.0"

[remote]
url = "file://{remote}"

[defaults]
archs = {archs}

[[model]]
name = "arcface_r100"
family = "arcface"
onnx = "models/arcface_r100.onnx"
version = "v1.0"
precisions = ["fp16", "fp32"]
batch = {{ min = 1, opt = 8, max = 16 }}

[[model]]
name = "scrfd_10g"
family = "scrfd"
onnx = "models/scrfd_10g.onnx"
version = "v2"
precisions = ["fp16"]
batch = {{ min = 1, opt = 8, max = 16 }}
"""


def two_models(project: Project, archs: str = '["sm_86"]') -> Path:
    """arcface_r100 (fp16, fp32) and scrfd_10g (fp16) for `archs`, with a `file://` remote."""
    project.add_model("scrfd_10g")
    return project.write_manifest(MANIFEST.format(remote=project.root / "remote", archs=archs))


def remote_files(project: Project, pattern: str = "*.trt") -> List[str]:
    remote = project.root / "remote"
    return sorted(str(p.relative_to(remote)) for p in remote.rglob(pattern) if p.is_file())


def trtexec_argv(cache: Path) -> List[str]:
    """The `&&&& RUNNING` line of each trtexec log: the argv trtctl gave it."""
    lines = []
    for log in sorted((cache / "logs").rglob("*")):
        if log.is_file():
            lines += [line for line in log.read_text().splitlines() if line.startswith("&&&& RUNNING")]
    return lines


def test_shapes_as_a_mapping_are_the_same_profile_as_the_tuples(project: Project) -> None:
    tuples = {"input": ("1x3x112x112", "4x3x112x112", "8x3x112x112")}
    mapping = {"input": {"min": "1x3x112x112", "opt": "4x3x112x112", "max": "8x3x112x112"}}
    engine, source = trtctl.build_or_load_engine(
        "models/arcface_r100.onnx", version="v1.0", shapes=mapping, remote=False
    )
    assert source == "built"
    assert Path(engine.path).name == "arcface_r100-s9a5fe778_v1.0_fp16_sm_86_10.3.0.trt"
    [argv] = trtexec_argv(project.cache)
    for flag in ("--minShapes=input:1x3x112x112", "--optShapes=input:4x3x112x112", "--maxShapes=input:8x3x112x112"):
        assert flag in argv.split(" "), argv
    same, source = trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0", shapes=tuples, remote=False)
    assert (same.path, source) == (engine.path, "local_cache")
    with pytest.raises(trtctl.InputError, match="opt"):
        trtctl.build_or_load_engine(
            "models/arcface_r100.onnx", version="v1.0", shapes={"input": {"min": "1x3x112x112"}}, remote=False
        )


def test_an_explicit_s3_remote_is_where_the_engine_is_uploaded(
    project: Project, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The environment names another remote: remote= wins over it.
    elsewhere = project.root / "elsewhere"
    monkeypatch.setenv("TRTCTL_REMOTE", elsewhere.as_uri())
    _, source = trtctl.build_or_load_engine(
        "models/arcface_r100.onnx", version="v1.0", remote=f"s3://{BUCKET}/explicit"
    )
    assert source == "built"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert f"explicit/arcface/{ENGINE}" in keys, keys
    assert f"explicit/arcface/{ENGINE}.json" in keys, keys
    assert not elsewhere.exists()
    _, source = trtctl.build_or_load_engine(
        "models/arcface_r100.onnx",
        version="v1.0",
        remote=f"s3://{BUCKET}/explicit",
        cache_dir=project.root / "other-cache",
    )
    assert source == "remote"


def test_plan_and_apply_no_upload_publish_nothing_and_plan_no_uploads(project: Project) -> None:
    manifest = two_models(project)
    assert trtctl.plan(manifest).counts["build"] == 3
    result = trtctl.apply(manifest, no_upload=True)
    assert result.ok
    assert sorted(o.action for o in result.outcomes) == ["build"] * 3
    assert remote_files(project, "*") == [], "neither engines nor timing caches are published"
    assert trtctl.plan(manifest).counts["upload"] == 3
    quiet = trtctl.plan(manifest, no_upload=True)
    assert quiet.counts["upload"] == 0 and quiet.counts["up_to_date"] == 3
    assert not quiet.has_changes


def test_apply_keep_going_finishes_what_does_not_depend_on_a_failure(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = two_models(project)
    monkeypatch.setenv("STUB_FAIL_MODEL", "arcface")
    stopped = trtctl.apply(manifest, no_upload=True)
    assert not stopped.ok
    assert sorted(o.outcome for o in stopped.outcomes if o.action == "build") == ["failed", "skipped", "skipped"]
    project.cache = project.root / "cache"
    shutil.rmtree(project.cache, ignore_errors=True)
    going = trtctl.apply(manifest, no_upload=True, keep_going=True)
    assert not going.ok
    builds = {o.engine: o.outcome for o in going.outcomes if o.action == "build"}
    assert builds["scrfd_10g_v2_fp16_sm_86_10.3.0.trt"] == "done", builds
    assert sorted(builds.values()) == ["done", "failed", "failed"], builds


def test_apply_gpu_arch_plans_for_that_arch_over_the_environments(project: Project) -> None:
    # The environment says sm_86 (TRTCTL_GPU_ARCH): gpu_arch= replaces it.
    manifest = two_models(project, archs='["sm_80", "sm_86"]')
    result = trtctl.apply(manifest, gpu_arch="sm_80", target="scrfd_10g", no_upload=True, allow_missing=True)
    assert result.ok
    assert [o.engine for o in result.outcomes] == ["scrfd_10g_v2_fp16_sm_80_10.3.0.trt"]
    assert result.cannot_build == ["scrfd_10g_v2_fp16_sm_86_10.3.0.trt"]
    assert (project.cache / "scrfd" / "scrfd_10g_v2_fp16_sm_80_10.3.0.trt").is_file()


def most_fetches_at_once(events: List[Dict[str, Any]]) -> int:
    """The most fetches started and not yet finished, replayed from apply's progress events."""
    now = most = 0
    for event in events:
        if event.get("action") != "fetch":
            continue
        now += {"started": 1, "finished": -1}.get(event["event"], 0)
        most = max(most, now)
    return most


def test_apply_jobs_sets_how_many_engines_transfer_at_once(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = two_models(project)
    assert trtctl.apply(manifest).ok
    assert len(remote_files(project)) == 3
    widths = {}
    for jobs in (1, 3):
        monkeypatch.setenv("TENSORRT_CACHE_DIR", str(project.root / f"cache-{jobs}"))
        events: List[Dict[str, Any]] = []
        result = trtctl.apply(manifest, jobs=jobs, progress=events.append)
        assert result.ok and result.report["fetched"] == 3, result.report
        widths[jobs] = most_fetches_at_once(events)
    assert widths[1] == 1, widths
    assert widths[3] >= 2, widths


def test_fetch_lock_installs_a_lock_kept_elsewhere_one_engine_at_a_time(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = two_models(project)
    assert trtctl.apply(manifest).ok
    assert trtctl._trtctl.cli_main(["trtctl", "lock", "-f", str(manifest)]) == 0
    kept = project.root / "locks" / "prod.lock"
    kept.parent.mkdir()
    (project.root / "engines.lock").rename(kept)
    monkeypatch.setenv("TENSORRT_CACHE_DIR", str(project.root / "host-cache"))
    monkeypatch.delenv("TRTEXEC")
    with pytest.raises(trtctl.InputError, match="engines.lock does not exist"):
        trtctl.fetch(manifest)
    fetched = trtctl.fetch(manifest, lock=kept, jobs=1)
    assert sorted(e.key for e in fetched.engines) == [
        "arcface/arcface_r100_v1.0_fp16_sm_86_10.3.0.trt",
        "arcface/arcface_r100_v1.0_fp32_sm_86_10.3.0.trt",
        "scrfd/scrfd_10g_v2_fp16_sm_86_10.3.0.trt",
    ]
    assert all(e.downloaded for e in fetched.engines)
    for engine in fetched.engines:
        assert Path(engine.path).read_bytes() == (project.cache / str(engine.key)).read_bytes()
