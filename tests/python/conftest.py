"""Fixtures of the Python suite: a temp project with the tiny ONNX model, the stand-in trtexec,
a simulated sm_86 GPU, and moto's S3 server on 127.0.0.1 for the remote."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator, List

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY_ONNX = REPO / "models" / "arcface_r100.onnx"
TRTEXEC = REPO / "tests" / "fixtures" / "trtexec"
BUCKET = "screenalytics-artifacts"

# Ctrl-C tests signal child processes, which inherit how this one handles SIGINT. A test run
# started in the background of a shell without job control (`cmd &`) begins with SIGINT
# ignored, and an ignored signal stays ignored across exec: handling it here gives every child
# the default again.
signal.signal(signal.SIGINT, signal.default_int_handler)

# Nothing of the developer's environment may steer a test: remotes, credentials, caches, GPUs.
SCRUBBED_PREFIXES = ("AWS_", "ARTIFACTS_", "TRTCTL_", "STUB_", "TENSORRT_")


class Project:
    """A temp dir with `models/`, a cache dir and a log of the stand-in trtexec's builds."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.models = root / "models"
        self.models.mkdir()
        self.cache = root / "cache"
        self.count_dir = root / "builds"
        self.count_dir.mkdir()

    def add_model(self, name: str = "arcface_r100") -> Path:
        path = self.models / f"{name}.onnx"
        shutil.copy(TINY_ONNX, path)
        return path

    def touch_model(self, name: str, version: int) -> None:
        """Changes the model's bytes, keeping it valid ONNX (a repeated model_version field)."""
        with open(self.models / f"{name}.onnx", "ab") as model:
            model.write(bytes([0x28, version]))

    def builds(self) -> List[str]:
        log = self.count_dir / "runs.log"
        return log.read_text().splitlines() if log.exists() else []

    def write_manifest(self, text: str) -> Path:
        path = self.root / "engines.toml"
        path.write_text(text)
        return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    for name in [n for n in os.environ if n.startswith(SCRUBBED_PREFIXES)]:
        monkeypatch.delenv(name)
    made = Project(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TENSORRT_CACHE_DIR", str(made.cache))
    monkeypatch.setenv("TRTEXEC", str(TRTEXEC))
    monkeypatch.setenv("TRTCTL_GPU_ARCH", "sm_86")
    monkeypatch.setenv("STUB_COUNT_DIR", str(made.count_dir))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)
    made.add_model()
    return made


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    # One line per request would bury a failure's own output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(project: Project, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> object:
    """The seed's bucket on moto, set up the way the seed's services see it: ARTIFACTS_*."""
    import boto3  # type: ignore[import-untyped]

    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="test-access",
        aws_secret_access_key="test-secret",
        region_name="us-east-1",
    )
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    for listed in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=listed["Key"])
    monkeypatch.setenv("ARTIFACTS_ENDPOINT", moto_endpoint)
    monkeypatch.setenv("ARTIFACTS_ACCESS_KEY", "test-access")
    monkeypatch.setenv("ARTIFACTS_SECRET_KEY", "test-secret")
    return client


def trtctl_script() -> str:
    """The `trtctl` console script installed beside this interpreter."""
    script = Path(sys.executable).parent / "trtctl"
    assert script.exists(), f"no console script at {script}: install the package first"
    return str(script)


def native_binary() -> str:
    """The native binary cargo built, to compare the console script with."""
    binary = Path(os.environ.get("TRTCTL_NATIVE", REPO / "target" / "debug" / "trtctl"))
    assert binary.exists(), f"no native trtctl at {binary}: run `cargo build` first"
    return str(binary)


@pytest.fixture(scope="session")
def stub_libcuda(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The stand-in CUDA driver (tests/fixtures/libcuda), built with the system's C compiler:
    the directory to put on LD_LIBRARY_PATH of a child process that should see GPUs."""
    out = tmp_path_factory.mktemp("stub-libcuda")
    source = REPO / "tests" / "fixtures" / "libcuda" / "stub_cuda.c"
    compiler = os.environ.get("CC", "cc")
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o", str(out / "libcuda.so.1"), str(source)],
        check=True,
    )
    shutil.copy(out / "libcuda.so.1", out / "libcuda.so")
    return str(out)
