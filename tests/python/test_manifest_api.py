"""plan() and apply() over an engines.toml, with progress to logging and a callback."""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List

import pytest

import trtctl
from conftest import Project

MANIFEST = """
trt_version = "10.3.0"

[defaults]
archs = ["sm_80", "sm_86"]

[[model]]
name = "arcface_r100"
onnx = "models/arcface_r100.onnx"
version = "v1.0"
precisions = ["fp16", "fp32"]
batch = { min = 1, opt = 8, max = 16 }
"""


def test_plan_lists_steps_with_action_and_reason(project: Project) -> None:
    plan = trtctl.plan(project.write_manifest(MANIFEST))
    assert plan.counts == {
        "up_to_date": 0, "fetch": 0, "build": 2, "rebuild": 0, "upload": 0, "cannot_build": 2, "untrusted": 0
    }
    by_engine = {step.engine: step for step in plan.steps}
    step = by_engine["arcface_r100_v1.0_fp16_sm_80_10.3.0.trt"]
    assert (step.action, step.arch, step.model) == ("cannot_build", "sm_80", "arcface_r100")
    assert step.reason == "needs a GPU of sm_80 (A100, A30); not in the remote"
    assert plan.has_changes
    assert json.loads(plan.to_json())["steps"][0]["key"]["file"] == plan.steps[0].engine
    assert str(plan).rstrip().endswith("Plan: 2 to build, 0 to fetch, 0 to upload, 0 up to date, 2 cannot be built here.")


def test_plan_selectors_and_gpu_arch(project: Project) -> None:
    manifest = project.write_manifest(MANIFEST)
    plan = trtctl.plan(manifest, target="arcface_r100:fp16", gpu_arch=["sm_80", "sm_86"])
    assert [(s.precision, s.arch, s.action) for s in plan.steps] == [("fp16", "sm_80", "build"), ("fp16", "sm_86", "build")]
    with pytest.raises(trtctl.InputError, match="did you mean"):
        trtctl.plan(manifest, target="arcface_r10")


def test_apply_returns_outcomes_and_reports_progress(project: Project, caplog: pytest.LogCaptureFixture) -> None:
    manifest = project.write_manifest(MANIFEST)
    events: List[Dict[str, Any]] = []
    with caplog.at_level(logging.INFO, logger="trtctl"):
        result = trtctl.apply(manifest, allow_missing=True, progress=events.append)
    assert result.ok
    assert sorted((o.engine, o.action, o.outcome) for o in result.outcomes) == [
        ("arcface_r100_v1.0_fp16_sm_86_10.3.0.trt", "build", "done"),
        ("arcface_r100_v1.0_fp32_sm_86_10.3.0.trt", "build", "done"),
    ]
    assert result.report["built"] == 2
    assert result.cannot_build == ["arcface_r100_v1.0_fp16_sm_80_10.3.0.trt", "arcface_r100_v1.0_fp32_sm_80_10.3.0.trt"]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "begin" and kinds[-1] == "summary" and kinds.count("finished") == 2
    assert "build arcface_r100_v1.0_fp16_sm_86_10.3.0.trt" in caplog.messages
    assert not trtctl.apply(manifest).ok, "engines that cannot be built fail without allow_missing"
    again = trtctl.plan(manifest)
    assert again.counts["up_to_date"] == 2 and not again.has_changes


def test_apply_force_rebuild_and_failures_are_results(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = project.write_manifest(MANIFEST)
    trtctl.apply(manifest, target="*:*:sm_86")
    result = trtctl.apply(manifest, target="*:*:sm_86", force_rebuild="arcface_r100:fp32")
    assert [(o.engine, o.outcome) for o in result.outcomes] == [("arcface_r100_v1.0_fp32_sm_86_10.3.0.trt", "done")]
    monkeypatch.setenv("STUB_FAIL_MODEL", "arcface")
    failed = trtctl.apply(manifest, target="*:*:sm_86", force_rebuild="*")
    assert not failed.ok
    assert {o.outcome for o in failed.outcomes} <= {"failed", "skipped"}
    assert failed.report["failures"][0]["action"] == "build"


def test_nothing_prints_on_its_own(project: Project, capfd: pytest.CaptureFixture[str]) -> None:
    manifest = project.write_manifest(MANIFEST)
    trtctl.plan(manifest)
    trtctl.apply(manifest, allow_missing=True)
    trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


class DashboardDown(Exception):
    pass


def test_an_exception_in_the_progress_callback_stops_apply_and_is_raised(project: Project) -> None:
    manifest = project.write_manifest(MANIFEST)
    seen: List[str] = []

    def progress(event: Dict[str, Any]) -> None:
        seen.append(event["event"])
        raise DashboardDown("the dashboard is down")

    with pytest.raises(DashboardDown, match="the dashboard is down"):
        trtctl.apply(manifest, allow_missing=True, progress=progress)
    assert seen == ["begin"], "the callback is not called again once it raised"
    assert project.builds() == [], "the apply stopped before building anything"
    assert not list(project.cache.rglob("*.trt")), "nothing was committed"
    assert trtctl.apply(manifest, allow_missing=True).ok, "the next call runs as usual"
