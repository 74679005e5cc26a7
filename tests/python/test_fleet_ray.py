"""`trtctl fleet apply --ray` against a real Ray cluster on 127.0.0.1: a head without CPUs and
one node per (simulated) GPU arch, each offering its `trtctl/sm_NN` resource, each started with
its own arch, cache and build log, so that a unit placed on the wrong node builds nothing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from conftest import BUCKET, TRTEXEC, Project, native_binary

ARCHS = ("sm_86", "sm_89")
# What a job may only have from its runtime_env: the node itself knows no remote.
CREDENTIALS = ("ARTIFACTS_ENDPOINT", "ARTIFACTS_ACCESS_KEY", "ARTIFACTS_SECRET_KEY", "TRTCTL_REMOTE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RayFleet:
    def __init__(self, dashboard: str, root: Path) -> None:
        self.dashboard = dashboard
        self.root = root

    def builds(self, arch: str) -> List[str]:
        log = self.root / arch / "builds" / "runs.log"
        return log.read_text().splitlines() if log.exists() else []

    def jobs(self) -> List[Dict[str, Any]]:
        with urllib.request.urlopen(f"{self.dashboard}/api/jobs/", timeout=10) as reply:
            listed: List[Dict[str, Any]] = json.load(reply)
            return listed


@pytest.fixture(scope="module")
def ray_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayFleet]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_USAGE_STATS_ENABLED", "0")
        # Ray's processes look up "this node's address" from the default route (an interface
        # the head, bound to 127.0.0.1, does not listen on): this keeps each lookup on loopback.
        env.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        yield from cluster_on_loopback(tmp_path_factory.mktemp("ray"))


def cluster_on_loopback(root: Path) -> Iterator[RayFleet]:
    from ray.cluster_utils import Cluster

    port = free_port()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "node_ip_address": "127.0.0.1",
            "include_dashboard": True,
            "dashboard_host": "127.0.0.1",
            "dashboard_port": port,
        },
    )
    try:
        for arch in ARCHS:
            (root / arch / "builds").mkdir(parents=True)
            env = {name: "" for name in CREDENTIALS}
            env.update(
                TRTCTL_GPU_ARCH=arch,
                TENSORRT_CACHE_DIR=str(root / arch / "cache"),
                STUB_COUNT_DIR=str(root / arch / "builds"),
                STUB_FAIL_MODEL="broken",
                TRTEXEC=str(TRTEXEC),
                HOME=str(root / arch),
                AWS_EC2_METADATA_DISABLED="true",
            )
            cluster.add_node(
                num_cpus=1,
                node_ip_address="127.0.0.1",
                resources={f"trtctl/{arch}": 1},
                env_vars=env,
            )
        cluster.wait_for_nodes(timeout=60)
        dashboard = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{dashboard}/api/jobs/", timeout=5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield RayFleet(dashboard, root)
    finally:
        cluster.shutdown()  # type: ignore[no-untyped-call]


def fleet_apply(fleet: RayFleet, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [native_binary(), "fleet", "apply", "--ray", fleet.dashboard, "--trtctl", native_binary(), *args],
        capture_output=True,
        text=True,
        timeout=240,
    )


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
    first = fleet_apply(ray_fleet, "--capacity-timeout", "8")
    shown = first.stdout + first.stderr
    assert first.returncode == 1, shown
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

    submitted = len(ray_fleet.jobs())
    second = fleet_apply(ray_fleet, "--capacity-timeout", "2")
    shown = second.stdout + second.stderr
    assert second.returncode == 1, shown
    assert "was already submitted (PENDING): waiting on it" in shown, shown
    assert "submitted trtctl" not in shown, shown
    assert len(ray_fleet.jobs()) == submitted
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
