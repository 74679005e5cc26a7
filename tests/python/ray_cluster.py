"""A real Ray cluster on 127.0.0.1 for `trtctl fleet apply --ray`: a head without CPUs (so no
job runs there) and one node per simulated GPU arch, each offering its `trtctl/sm_NN` resource
and started with its own arch, cache and build log, and without credentials: a job has those
only from its runtime_env, and a unit placed on a node of another arch builds nothing.
Used by tests/python/test_fleet_ray.py and scripts/bench-fleet-ray.py."""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence

CREDENTIALS = ("ARTIFACTS_ENDPOINT", "ARTIFACTS_ACCESS_KEY", "ARTIFACTS_SECRET_KEY", "TRTCTL_REMOTE")
# Ray's processes look up "this node's address" from the default route (an interface the head,
# bound to 127.0.0.1, does not listen on): the second keeps each lookup on the loopback.
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


class RayFleet:
    def __init__(self, dashboard: str, root: Path) -> None:
        self.dashboard = dashboard
        self.root = root

    def builds(self, arch: str) -> List[str]:
        """The stand-in trtexec's builds on the node of `arch`."""
        log = self.root / arch / "builds" / "runs.log"
        return log.read_text().splitlines() if log.exists() else []

    def jobs(self) -> List[Dict[str, Any]]:
        with urllib.request.urlopen(f"{self.dashboard}/api/jobs/", timeout=10) as reply:
            listed: List[Dict[str, Any]] = json.load(reply)
            return listed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def node_env(root: Path, arch: str, trtexec: Path, extra: Dict[str, str]) -> Dict[str, str]:
    (root / arch / "builds").mkdir(parents=True)
    env = {name: "" for name in CREDENTIALS}
    env.update(
        TRTCTL_GPU_ARCH=arch,
        TENSORRT_CACHE_DIR=str(root / arch / "cache"),
        STUB_COUNT_DIR=str(root / arch / "builds"),
        TRTEXEC=str(trtexec),
        HOME=str(root / arch),
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(extra)
    return env


@contextmanager
def ray_cluster(
    root: Path, archs: Sequence[str], trtexec: Path, extra: Dict[str, str]
) -> Iterator[RayFleet]:
    """The cluster, up until the block ends; `extra` goes into every node's environment."""
    from ray.cluster_utils import Cluster

    saved = {name: os.environ.get(name) for name in RAY_ENV}
    os.environ.update(RAY_ENV)
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
        for arch in archs:
            cluster.add_node(
                num_cpus=1,
                node_ip_address="127.0.0.1",
                resources={f"trtctl/{arch}": 1},
                env_vars=node_env(root, arch, trtexec, extra),
            )
        cluster.wait_for_nodes(timeout=60)
        dashboard = f"http://127.0.0.1:{port}"
        wait_for_jobs_api(dashboard)
        yield RayFleet(dashboard, root)
    finally:
        cluster.shutdown()  # type: ignore[no-untyped-call]
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def wait_for_jobs_api(dashboard: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{dashboard}/api/jobs/", timeout=5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
