#!/usr/bin/env python3
"""Wall time of `trtctl fleet apply --ray` building 12 engines (2 models x fp16/fp32 x 3 archs)
on a Ray cluster of 3 simulated-arch nodes on this machine, against the same three applies run
one after another (`trtctl apply --gpu-arch sm_NN` per arch), each build taking STUB_SLEEP
seconds in the stand-in trtexec. Each run builds into a fresh remote prefix on moto's S3 server
and fresh node caches. Median of RUNS.

Run in the venv scripts/test.sh makes (target/py-venv), after `cargo build`:
    target/py-venv/bin/python scripts/bench-fleet-ray.py
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))

from ray_cluster import RayFleet, ray_cluster  # noqa: E402

TRTCTL = str(REPO / "target" / "debug" / "trtctl")
TRTEXEC = REPO / "tests" / "fixtures" / "trtexec"
ARCHS = ("sm_80", "sm_86", "sm_89")
BUCKET = "screenalytics-artifacts"
BUILD_SECS = float(os.environ.get("BENCH_BUILD_SECS", "2"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))

MANIFEST = """
trt_version = "10.3.0"

[remote]
url = "s3://screenalytics-artifacts/{prefix}"

[defaults]
precisions = ["fp16", "fp32"]
archs = ["sm_80", "sm_86", "sm_89"]

[[model]]
name = "arcface_r100"
onnx = "models/arcface_r100.onnx"
version = "v1"

[[model]]
name = "scrfd_10g"
onnx = "models/scrfd_10g.onnx"
version = "v1"
"""


def run(args: List[str], env: Dict[str, str], cwd: Path) -> float:
    started = time.monotonic()
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return elapsed


def main() -> None:
    from moto.server import ThreadedMotoServer
    import boto3  # type: ignore[import-untyped]

    # One line per request would bury the figures.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench-secret",
        region_name="us-east-1",
    ).create_bucket(Bucket=BUCKET)
    root = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    project = root / "project"
    (project / "models").mkdir(parents=True)
    for model in ("arcface_r100", "scrfd_10g"):
        shutil.copy(REPO / "models" / "arcface_r100.onnx", project / "models" / f"{model}.onnx")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(root / "home"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "ARTIFACTS_ENDPOINT": endpoint,
        "ARTIFACTS_ACCESS_KEY": "bench",
        "ARTIFACTS_SECRET_KEY": "bench-secret",
        "TRTEXEC": str(TRTEXEC),
        "STUB_SLEEP": str(BUILD_SECS),
    }
    sequential: List[float] = []
    fleet: List[float] = []
    started = time.monotonic()
    with ray_cluster(root / "ray", ARCHS, TRTEXEC, {"STUB_SLEEP": str(BUILD_SECS)}) as cluster:
        print(f"cluster up in {time.monotonic() - started:.1f}s")
        for attempt in range(RUNS):
            (project / "engines.toml").write_text(MANIFEST.format(prefix=f"sequential-{attempt}"))
            total = 0.0
            for arch in ARCHS:
                local = dict(env, TENSORRT_CACHE_DIR=str(root / f"seq-{attempt}-{arch}"))
                total += run([TRTCTL, "apply", "--gpu-arch", arch, "--target", f"*:*:{arch}"], local, project)
            sequential.append(total)
            (project / "engines.toml").write_text(MANIFEST.format(prefix=f"fleet-{attempt}"))
            clear_node_caches(cluster)
            local = dict(env, TENSORRT_CACHE_DIR=str(root / "fleet-cache"))
            fleet.append(run([TRTCTL, "fleet", "apply", "--ray", cluster.dashboard, "--trtctl", TRTCTL], local, project))
            print(f"run {attempt + 1}: sequential {sequential[-1]:.1f}s, fleet {fleet[-1]:.1f}s")
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
    print(
        f"12 engines, {BUILD_SECS:g}s per build, {os.cpu_count()} cores: "
        f"sequential applies {statistics.median(sequential):.1f}s, "
        f"fleet apply over 3 nodes {statistics.median(fleet):.1f}s (medians of {RUNS})"
    )


def clear_node_caches(cluster: RayFleet) -> None:
    """Each run builds anew: an engine left in a node's cache would only be uploaded."""
    for arch in ARCHS:
        shutil.rmtree(cluster.root / arch / "cache", ignore_errors=True)


if __name__ == "__main__":
    main()
