"""The Jobs of `trtctl fleet plan --format k8s` against the Kubernetes schema, offline."""

from __future__ import annotations

import copy
import json
import subprocess
from typing import Any, Dict, List

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]

from conftest import Project, native_binary

KUBERNETES = "1.37"

MANIFEST = """
trt_version = "10.3.0"

[remote]
url = "file://remote"

[[model]]
name = "arcface_r100"
onnx = "models/arcface_r100.onnx"
version = "v1.0"
precisions = ["fp16", "fp32"]
archs = ["sm_80", "sm_86", "sm_89"]

[fleet.kubernetes]
image = "registry.example.com/trtctl:1.4"
namespace = "engines"
secret = "trtctl-remote"
service_account = "engine-builder"
cache_volume_claim = "trtctl-cache"
"""


def fleet_plan(fmt: str) -> str:
    done = subprocess.run(
        [native_binary(), "fleet", "plan", "--format", fmt],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def validate(job: Dict[str, Any]) -> None:
    kubernetes_validate.validate(job, KUBERNETES, strict=True)


@pytest.fixture
def jobs(project: Project) -> List[Dict[str, Any]]:
    project.write_manifest(MANIFEST)
    return [doc for doc in yaml.safe_load_all(fleet_plan("k8s")) if doc is not None]


def test_every_rendered_job_validates_in_strict_mode(jobs: List[Dict[str, Any]]) -> None:
    assert [job["kind"] for job in jobs] == ["Job"] * 3
    for job in jobs:
        validate(job)
    selectors = [job["spec"]["template"]["spec"]["nodeSelector"] for job in jobs]
    assert [s["nvidia.com/gpu.compute.minor"] for s in selectors] == ["0", "6", "9"]


def test_the_yaml_and_the_json_list_are_the_same_jobs(jobs: List[Dict[str, Any]]) -> None:
    listed = json.loads(fleet_plan("k8s-json"))
    assert listed["kind"] == "List"
    assert listed["items"] == jobs


def test_the_validation_catches_a_job_kubernetes_would_refuse(jobs: List[Dict[str, Any]]) -> None:
    broken = copy.deepcopy(jobs[0])
    broken["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [{"secret": {"name": "x"}}]
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)
