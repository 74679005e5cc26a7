"""build_or_load_engine: the seed's call, its three sources, and the options an expert expects."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import trtctl
from conftest import BUCKET, Project

ENGINE = "arcface_r100_v1.0_fp16_sm_86_10.3.0.trt"


def seed_call(**opts: Any) -> "tuple[trtctl.Engine, str]":
    return trtctl.build_or_load_engine(
        onnx_path="models/arcface_r100.onnx", precision="fp16", batch_size=32, version="v1.0", **opts
    )


def test_the_seed_example_gives_built_then_local_cache_then_remote(project: Project, s3: Any) -> None:
    engine, source = seed_call()
    assert source == "built"
    assert engine.path == str(project.cache / "arcface" / ENGINE)
    assert engine.name == ENGINE
    assert engine.identity == trtctl.Identity("arcface_r100", "v1.0", "fp16", "sm_86", "10.3.0")
    with open(engine, "rb") as engine_file:
        built_bytes = engine_file.read()
    assert engine.size == len(built_bytes)
    assert engine.sha256 == hashlib.sha256(built_bytes).hexdigest()
    assert engine.fingerprint is not None and len(engine.fingerprint) == 64
    # The seed's default remote: its bucket at ARTIFACTS_ENDPOINT, with the engine and sidecar.
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert f"engines/arcface/{ENGINE}" in keys and f"engines/arcface/{ENGINE}.json" in keys

    again, source = seed_call()
    assert source == "local_cache"
    assert again == engine

    second_cache = project.root / "second-cache"
    fetched, source = seed_call(cache_dir=second_cache)
    assert source == "remote"
    assert fetched.path == str(second_cache / "arcface" / ENGINE)
    assert Path(fetched).read_bytes() == built_bytes
    assert (fetched.sha256, fetched.fingerprint) == (engine.sha256, engine.fingerprint)
    assert len(project.builds()) == 1


def test_a_changed_onnx_is_rebuilt(project: Project) -> None:
    first, source = seed_call()
    assert source == "built"
    project.touch_model("arcface_r100", 7)
    rebuilt, source = seed_call()
    assert source == "built"
    assert rebuilt.path == first.path, "a declared version keeps the name"
    assert rebuilt.fingerprint != first.fingerprint
    assert len(project.builds()) == 2
    assert seed_call()[1] == "local_cache"


def test_an_auto_version_follows_the_onnx_digest(project: Project) -> None:
    engine, _ = trtctl.build_or_load_engine("models/arcface_r100.onnx")
    digest = hashlib.sha256(Path("models/arcface_r100.onnx").read_bytes()).hexdigest()
    assert engine.identity.version == digest[:8]


def test_force_rebuild_builds_a_current_engine_again(project: Project) -> None:
    seed_call()
    engine, source = seed_call(force_rebuild=True)
    assert source == "built"
    assert len(project.builds()) == 2
    assert seed_call()[1] == "local_cache"


def until(what: str, event: Callable[[], bool]) -> None:
    """Waits for `event()` to be true; fails, naming `what`, if it is not within 20 s."""
    deadline = time.monotonic() + 20
    while not event():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.01)


def waiting_for_locks(pid: int) -> int:
    """How many `flock` waits process `pid` has blocked (the `->` lines of /proc/locks)."""
    lines = Path("/proc/locks").read_text().splitlines()
    return sum(1 for line in lines if line.split()[1:2] == ["->"] and str(pid) in line.split())


@pytest.fixture
def gate(project: Project, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in's barrier as a gate: a build waits for a second arrival, which the test
    supplies by writing a file into the returned directory."""
    gate = project.root / "gate"
    gate.mkdir()
    monkeypatch.setenv("STUB_BARRIER", f"{gate}:2")
    return gate


def test_four_threads_build_the_engine_once(project: Project, gate: Path) -> None:
    with ThreadPoolExecutor(4) as pool:
        calls = [pool.submit(seed_call) for _ in range(4)]
        until("a build started", lambda: len(project.builds()) == 1)
        # The three other calls wait for the engine's lock while the first one builds.
        until("three calls wait for the lock", lambda: waiting_for_locks(os.getpid()) == 3)
        (gate / "open").touch()
        results = [call.result(timeout=120) for call in calls]
    sources = sorted(source for _, source in results)
    assert sources == ["built", "local_cache", "local_cache", "local_cache"]
    assert len({engine.sha256 for engine, _ in results}) == 1
    assert len(project.builds()) == 1


def test_two_processes_build_the_engine_once(project: Project, gate: Path) -> None:
    script = textwrap.dedent(
        """
        import trtctl
        engine, source = trtctl.build_or_load_engine(
            "models/arcface_r100.onnx", precision="fp16", batch_size=32, version="v1.0")
        print(source, engine.sha256)
        """
    )

    def spawn() -> "subprocess.Popen[str]":
        return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)

    first = spawn()
    until("the first build started", lambda: len(project.builds()) == 1)
    second = spawn()

    def second_waits() -> bool:
        assert second.poll() is None, "the second process finished without waiting for the first"
        return waiting_for_locks(second.pid) == 1

    until("the second process waits for the lock", second_waits)
    (gate / "open").touch()
    children = [first, second]
    outputs = [child.communicate(timeout=120)[0].split() for child in children]
    assert [child.returncode for child in children] == [0, 0]
    assert sorted(source for source, _ in outputs) == ["built", "local_cache"]
    assert outputs[0][1] == outputs[1][1]
    assert len(project.builds()) == 1


def test_expert_options_name_and_build_the_engine(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRTCTL_GPU_ARCH", "sm_86,sm_86")
    engine, source = trtctl.build_or_load_engine(
        "models/arcface_r100.onnx",
        precision="fp32",
        batch_size=8,
        model_name="arcface_custom",
        version="v2",
        family="faces",
        gpu=1,
        gpu_arch=None,
        trt_version="10.3.0",
        shapes={"input": ("1x3x112x112", "4x3x112x112", "8x3x112x112")},
        remote=False,
    )
    assert source == "built"
    # Explicit shapes are not the seed's default profile: the name carries a digest of them.
    assert engine.path == str(project.cache / "faces" / "arcface_custom-s9a5fe778_v2_fp32_sm_86_10.3.0.trt")
    # The stand-in logs "<onnx> <engine> <device> <pid>": built on the asked device.
    assert project.builds()[0].split()[2] == "1"


def test_gpu_arch_and_min_opt_max_batch(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRTCTL_GPU_ARCH")
    engine, source = seed_call(gpu_arch="sm_89", min_batch=2, opt_batch=16, max_batch=64)
    assert (source, engine.identity.arch) == ("built", "sm_89")
    with pytest.raises(trtctl.InputError, match="1 <= min <= opt <= max"):
        seed_call(gpu_arch="sm_89", min_batch=8, opt_batch=4)


def test_two_profiles_of_one_model_keep_two_engines(project: Project) -> None:
    def call(batch_size: int, **opts: Any) -> "tuple[trtctl.Engine, str]":
        return trtctl.build_or_load_engine("models/arcface_r100.onnx", "fp16", batch_size, version="v1.0", **opts)

    default, _ = call(32)
    assert default.name == ENGINE, "the seed's call keeps the seed's name"
    small, source = call(16)
    assert source == "built"
    assert small.name == "arcface_r100-b16_v1.0_fp16_sm_86_10.3.0.trt"
    assert (small.family, small.identity.model) == ("arcface", "arcface_r100-b16")
    ranged, _ = call(64, min_batch=2, opt_batch=16)
    assert ranged.name == "arcface_r100-b2-16-64_v1.0_fp16_sm_86_10.3.0.trt"
    assert len({default.sha256, small.sha256, ranged.sha256}) == 3
    # Each stays, each handle still reads its own engine, and asking again builds nothing.
    assert [call(32)[1], call(16)[1], call(64, min_batch=2, opt_batch=16)[1]] == ["local_cache"] * 3
    for engine in (default, small, ranged):
        assert hashlib.sha256(engine.read_bytes()).hexdigest() == engine.sha256
    assert len(project.builds()) == 3


def test_processes_alternating_two_profiles_build_once_per_profile(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUB_SLEEP", "0.5")
    script = textwrap.dedent(
        """
        import sys, trtctl
        sizes = [16, 32, 16, 32] if sys.argv[1] == "even" else [32, 16, 32, 16]
        engines = []
        for batch_size in sizes:
            engine, source = trtctl.build_or_load_engine(
                "models/arcface_r100.onnx", "fp16", batch_size, version="v1.0")
            engines.append(engine)
            print(batch_size, source, engine.name)
        for engine in engines:
            engine.read_bytes()  # each handle still reads the engine it was given
        """
    )
    children = [
        subprocess.Popen([sys.executable, "-c", script, parity], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for parity in ["even", "odd", "even", "odd"]
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0] * 4, [err for _, err in outputs]
    lines = [line.split() for out, _ in outputs for line in out.splitlines()]
    assert len(lines) == 16
    assert {size: {name for s, _, name in lines if s == size} for size, _, _ in lines} == {
        "16": {"arcface_r100-b16_v1.0_fp16_sm_86_10.3.0.trt"},
        "32": {ENGINE},
    }
    assert sorted(source for _, source, _ in lines).count("built") == 2
    # The stand-in logs each build with the (temp) file it wrote: one build per profile.
    builds = project.builds()
    assert len(builds) == 2, builds
    assert sum("arcface_r100-b16_v1.0_fp16" in line for line in builds) == 1, builds


def test_a_gpu_index_that_is_not_there_names_the_ones_that_are(project: Project) -> None:
    with pytest.raises(trtctl.GpuError, match=r"no GPU with index 3; this machine has 0 \(simulated sm_86"):
        seed_call(gpu=3)


def test_a_derived_family_never_uses_the_caches_own_directories(project: Project) -> None:
    project.add_model("logs_detector")
    engine, _ = trtctl.build_or_load_engine("models/logs_detector.onnx", version="v1")
    assert Path(engine.path).parent == project.cache / "logs-model"
    with pytest.raises(trtctl.InputError, match="family `timing` is reserved"):
        trtctl.build_or_load_engine("models/logs_detector.onnx", version="v1", family="timing")


def test_trtctl_remote_sets_the_remote(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = project.root / "shared"
    monkeypatch.setenv("TRTCTL_REMOTE", shared.as_uri())
    seed_call()
    assert (shared / "arcface" / ENGINE).is_file()
    _, source = seed_call(cache_dir=project.root / "other-cache")
    assert source == "remote"
    _, source = seed_call(cache_dir=project.root / "third-cache", remote=False)
    assert source == "built", "remote=False ignores TRTCTL_REMOTE"


def test_upload_false_publishes_nothing(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = project.root / "shared"
    _, source = seed_call(remote=shared.as_uri(), upload=False)
    assert source == "built"
    assert not (shared / "arcface" / ENGINE).exists()
    # The same remote= does reach the remote: with uploads on it publishes, and with them off
    # it is still read from.
    seed_call(remote=shared.as_uri(), cache_dir=project.root / "other-cache")
    assert (shared / "arcface" / ENGINE).is_file()
    _, source = seed_call(remote=shared.as_uri(), upload=False, cache_dir=project.root / "third-cache")
    assert source == "remote"


def test_a_timeout_stops_the_build_and_commits_nothing(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUB_SLEEP", "30")
    with pytest.raises(trtctl.TimeoutError, match="gave up after 0.5s") as raised:
        seed_call(timeout=0.5)
    assert isinstance(raised.value, TimeoutError)
    assert not (project.cache / "arcface" / ENGINE).exists()


class SilentEndpoint:
    """A remote on 127.0.0.1 that accepts connections and never answers, holding each open: the
    remote client's own timeout (120 s) is the only way out of a request to it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.held: "list[socket.socket]" = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.held.append(connection)

    def wait_for_a_request(self, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while not self.held and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.held, "the remote was never asked"

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def silent_remote(project: Project, monkeypatch: pytest.MonkeyPatch) -> Iterator[SilentEndpoint]:
    """The seed's remote at an endpoint that never answers, with keys, as a service sets it."""
    endpoint = SilentEndpoint()
    monkeypatch.setenv("ARTIFACTS_ENDPOINT", endpoint.url)
    monkeypatch.setenv("ARTIFACTS_ACCESS_KEY", "silent-access")
    monkeypatch.setenv("ARTIFACTS_SECRET_KEY", "silent-secret")
    yield endpoint
    endpoint.close()


# Far below the remote client's 120 s timeout, far above the few seconds a stop takes: ending
# before it means the deadline or the signal ended the call, not the remote's own error.
WELL_BEFORE_THE_CLIENT_TIMEOUT = 60


def test_a_timeout_interrupts_a_remote_that_never_answers(project: Project, silent_remote: SilentEndpoint) -> None:
    started = time.monotonic()
    with pytest.raises(trtctl.TimeoutError, match=r"gave up after 3s \(the timeout\)"):
        seed_call(timeout=3)
    assert time.monotonic() - started < WELL_BEFORE_THE_CLIENT_TIMEOUT
    assert silent_remote.held, "the remote was never asked"
    assert project.builds() == []


def test_ctrl_c_interrupts_a_remote_that_never_answers(project: Project, silent_remote: SilentEndpoint) -> None:
    script = textwrap.dedent(
        """
        import trtctl
        try:
            trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
        except KeyboardInterrupt:
            print("KeyboardInterrupt")
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    silent_remote.wait_for_a_request()  # the call is waiting on the remote
    signalled = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=150)
    assert out.strip() == "KeyboardInterrupt", err
    assert time.monotonic() - signalled < WELL_BEFORE_THE_CLIENT_TIMEOUT
    assert project.builds() == []


def test_ctrl_c_interrupts_a_build_cleanly(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_SLEEP", "30")
    script = textwrap.dedent(
        """
        import trtctl
        try:
            trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
        except KeyboardInterrupt:
            print("KeyboardInterrupt")
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    until("the build started", lambda: len(project.builds()) == 1)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=25)
    assert out.strip() == "KeyboardInterrupt", err
    assert not (project.cache / "arcface" / ENGINE).exists()
    assert not list(project.cache.glob("arcface/*.trt*")), "nothing half-written was committed"


def test_a_refittable_engine_is_refitted_here_and_says_so(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_TRT_VERSION", "10.14.1")
    refittable = {"trt_version": "10.14.1", "remote": False, "weights": "refittable"}
    engine, source = seed_call(**refittable)
    assert source == "built"
    assert engine.weights == "refittable"
    assert engine.refitted and engine.refits == 1
    assert engine.plan_size is not None and engine.plan_size < engine.size
    refits_log = project.count_dir / "refits.log"
    assert len(refits_log.read_text().splitlines()) == 1

    # New weights of the same graph: refitted, not built.
    project.touch_model("arcface_r100", 9)
    refitted, source = seed_call(**refittable)
    assert source == "local_cache"
    assert refitted.refits == 2
    assert refitted.fingerprint != engine.fingerprint
    assert len(project.builds()) == 1, "no second build"
    assert len(refits_log.read_text().splitlines()) == 2
    assert Path(refitted).read_bytes() == refitted.read_bytes()

    plain, _ = seed_call(remote=False, family="plain", trt_version="10.14.1")
    assert plain.weights is None and not plain.refitted


def test_an_unknown_weights_mode_is_refused(project: Project) -> None:
    with pytest.raises(trtctl.InputError, match="refittable"):
        seed_call(remote=False, weights="thin")
