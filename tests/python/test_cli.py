"""The installed `trtctl` console script is the native command line: same output, same exit codes."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import List

import pytest

from conftest import Project, native_binary, trtctl_script

MANIFEST = """
trt_version = "10.3.0"
[[model]]
name = "arcface_r100"
onnx = "models/arcface_r100.onnx"
version = "v1.0"
precisions = ["fp16"]
archs = ["sm_80", "sm_86"]
"""


def run(program: str, args: List[str]) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([program, *args], capture_output=True, text=True, timeout=60)


def test_the_script_runs_plan_like_the_native_binary(project: Project) -> None:
    manifest = str(project.write_manifest(MANIFEST))
    for args, code in [
        (["plan", "-f", manifest], 0),
        (["plan", "-f", manifest, "--detailed-exitcode"], 3),
        (["plan", "-f", manifest, "--target", "*:*:sm_86", "--detailed-exitcode"], 2),
        (["plan", "-f", manifest, "--json"], 0),
        (["plan", "-f", "missing.toml"], 1),
        (["plan", "--no-such-flag"], 1),
    ]:
        script, native = run(trtctl_script(), args), run(native_binary(), args)
        assert script.returncode == code, (args, script.stderr)
        assert (script.returncode, script.stdout, script.stderr) == (native.returncode, native.stdout, native.stderr), args
    assert "+ build" in run(trtctl_script(), ["plan", "-f", manifest]).stdout


def test_the_script_runs_ensure(project: Project) -> None:
    args = ["ensure", "--onnx", "models/arcface_r100.onnx", "--precision", "fp16", "--batch-size", "4", "--version", "v1.0"]
    first = run(trtctl_script(), args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.endswith("\tbuilt\n")
    assert run(trtctl_script(), args).stdout.endswith("\tlocal_cache\n")


def test_ctrl_c_stops_the_scripts_ensure_with_130_like_the_native_binary(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUB_SLEEP", "30")
    args = ["ensure", "--onnx", "models/arcface_r100.onnx", "--precision", "fp16", "--batch-size", "4", "--version", "v1.0"]
    for program in [trtctl_script(), native_binary()]:
        child = subprocess.Popen([program, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while not project.builds() and time.monotonic() < deadline:
            time.sleep(0.05)  # until the build has started
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=20)
        assert child.returncode == 130, (program, stderr)
        assert "interrupted; nothing half-written was committed" in stderr
        assert not list(project.cache.glob("arcface/*.trt")), program
        (project.count_dir / "runs.log").unlink()
