"""`trtctl fleet apply --ray` against a real Ray cluster on 127.0.0.1 (tests/python/ray_cluster.py)."""

from __future__ import annotations

import signal
import subprocess
from typing import Any, Iterator, List

import pytest

from conftest import BUCKET, TRTEXEC, Project, native_binary
from ray_cluster import RayFleet, ray_cluster

ARCHS = ("sm_86", "sm_89")


@pytest.fixture(scope="module")
def ray_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayFleet]:
    root = tmp_path_factory.mktemp("ray")
    # Builds take a while, so that a second `fleet apply` finds the first one's jobs at work.
    extra = {"STUB_FAIL_MODEL": "broken", "STUB_SLEEP": "1.5"}
    with ray_cluster(root, ARCHS, TRTEXEC, extra) as fleet:
        yield fleet


def fleet_apply_command(fleet: RayFleet, *args: str) -> List[str]:
    return [native_binary(), "fleet", "apply", "--ray", fleet.dashboard, "--trtctl", native_binary(), *args]


def fleet_apply(fleet: RayFleet, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(fleet_apply_command(fleet, *args), capture_output=True, text=True, timeout=240)


def interrupted_once_submitted(fleet: RayFleet, units: int) -> List[str]:
    """Runs `fleet apply` and interrupts it as soon as it has submitted `units` jobs."""
    first = subprocess.Popen(fleet_apply_command(fleet), stdout=subprocess.PIPE, text=True)
    assert first.stdout is not None
    lines: List[str] = []
    try:
        while sum(" submitted " in line for line in lines) < units:
            line = first.stdout.readline()
            assert line, f"fleet apply ended after: {lines}"
            lines.append(line)
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=30)
    return lines


def remote_engines(s3: Any) -> List[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return sorted(o["Key"] for o in listed if o["Key"].endswith(".trt"))


def test_each_unit_builds_on_a_node_of_its_arch_and_a_rerun_submits_nothing(
    ray_fleet: RayFleet, project: Project, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRTCTL_GPU_ARCH")
    project.add_model("scrfd_10g")
    project.write_manifest(
        """
trt_version = "10.3.0"

[remote]
url = "s3://screenalytics-artifacts/engines"

[defaults]
precisions = ["fp16", "fp32"]
archs = ["sm_86", "sm_89", "sm_75"]

[[model]]
name = "arcface_r100"
family = "arcface"
onnx = "models/arcface_r100.onnx"
version = "v1.0"

[[model]]
name = "scrfd_10g"
onnx = "models/scrfd_10g.onnx"
version = "v2"
"""
    )
    jobs_before = len(ray_fleet.jobs())
    interrupted_once_submitted(ray_fleet, units=3)

    # The same plan again, while the first run's jobs are queued or at work (only such jobs are
    # attached to): it waits on them.
    again = fleet_apply(ray_fleet, "--capacity-timeout", "8")
    shown = again.stdout + again.stderr
    assert again.returncode == 1, shown
    assert "submitted trtctl" not in shown, shown
    assert shown.count("was already submitted (") == 3, shown
    assert len(ray_fleet.jobs()) == jobs_before + 3
    for arch in ARCHS:
        assert f"{arch}  trtctl-sm{arch[3:]}-" in shown and " ok (" in shown, shown
        built = ray_fleet.builds(arch)
        assert len(built) == 4, built
        assert all(f"_{arch}_" in line for line in built), built
    assert "sm_75  no capacity: no node took trtctl-sm75-" in shown, shown
    assert "`trtctl/sm_75`" in shown, shown
    assert "test-secret" not in shown
    engines = remote_engines(s3)
    assert len(engines) == 8, engines
    assert not any("sm_75" in e for e in engines), engines

    # Once the builds are in the remote, only the unit without capacity is left to wait on.
    second = fleet_apply(ray_fleet, "--capacity-timeout", "2")
    shown = second.stdout + second.stderr
    assert second.returncode == 1, shown
    assert "was already submitted (PENDING): waiting on it" in shown, shown
    assert "submitted trtctl" not in shown, shown
    assert "sm_86" not in shown and "sm_89" not in shown, shown
    assert len(ray_fleet.jobs()) == jobs_before + 3
    assert all(len(ray_fleet.builds(arch)) == 4 for arch in ARCHS)


def test_a_failing_build_shows_its_log_tail_and_fails(
    ray_fleet: RayFleet, project: Project, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRTCTL_GPU_ARCH")
    project.add_model("broken_net")
    project.write_manifest(
        """
trt_version = "10.3.0"

[remote]
url = "s3://screenalytics-artifacts/engines"

[[model]]
name = "broken_net"
onnx = "models/broken_net.onnx"
version = "v1"
precisions = ["fp16"]
archs = ["sm_86"]
"""
    )
    done = fleet_apply(ray_fleet, "--capacity-timeout", "60")
    shown = done.stdout + done.stderr
    assert done.returncode == 1, shown
    assert "sm_86  trtctl-sm86-" in shown and " failed (FAILED): Job entrypoint command failed" in shown, shown
    assert "    | " in shown and "stand-in build failure" in shown, shown
    assert remote_engines(s3) == []
