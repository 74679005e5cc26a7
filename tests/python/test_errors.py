"""Bad input raises the right class of the trtctl.Error hierarchy, with the CLI's message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

import trtctl
from conftest import Project, trtctl_script


def cli_error(*args: str) -> str:
    done = subprocess.run([trtctl_script(), *args], capture_output=True, text=True)
    assert done.returncode == 1, done
    return done.stderr.strip()


def test_a_missing_onnx_is_an_input_error_with_the_clis_message(project: Project) -> None:
    with pytest.raises(trtctl.InputError) as raised:
        trtctl.build_or_load_engine("models/missing.onnx", "fp16", 32)
    assert isinstance(raised.value, ValueError)
    message = str(raised.value)
    assert message == "ONNX file models/missing.onnx does not exist; pass the path of an .onnx model"
    cli = cli_error("ensure", "--onnx", "models/missing.onnx", "--precision", "fp16", "--batch-size", "32")
    assert cli == f"error: {message}"


def test_a_bad_precision_is_an_input_error_with_the_clis_message(project: Project) -> None:
    with pytest.raises(trtctl.InputError) as raised:
        trtctl.build_or_load_engine("models/arcface_r100.onnx", "fp17", 32)
    message = str(raised.value)
    assert "unknown precision `fp17`" in message and "did you mean `fp16`?" in message
    cli = cli_error("ensure", "--onnx", "models/arcface_r100.onnx", "--precision", "fp17", "--batch-size", "32")
    assert message in cli


def test_a_wrong_type_is_a_type_error(project: Project) -> None:
    with pytest.raises(TypeError):
        trtctl.build_or_load_engine("models/arcface_r100.onnx", "fp16", "32")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        trtctl.build_or_load_engine(42, "fp16", 32)  # type: ignore[arg-type]


def test_a_bad_manifest_is_a_manifest_error_naming_file_and_line(project: Project) -> None:
    manifest = project.write_manifest(
        'trt_version = "10.3.0"\n[[model]]\nname = "arcface_r100"\nonnx = "models/arcface_r100.onnx"\nprecisons = ["fp16"]\n'
    )
    with pytest.raises(trtctl.ManifestError) as raised:
        trtctl.plan(manifest)
    message = str(raised.value)
    assert f"{manifest}:5" in message and "did you mean `precisions`?" in message
    assert message in cli_error("plan", "-f", str(manifest))


def test_a_failed_build_is_a_build_error(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUB_FAIL_MODEL", "arcface")
    with pytest.raises(trtctl.BuildError, match="^build arcface_r100_v1.0_fp16_sm_86_10.3.0.trt failed: "):
        trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")


NO_GPU_CHILD = """
import trtctl
try:
    trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
except trtctl.GpuError as err:
    print("GpuError:", err)
"""


def test_no_gpu_is_a_gpu_error_that_says_the_fix(project: Project, stub_libcuda: str) -> None:
    # CUDA is detected once per process: a child interpreter sees the stand-in driver with no GPU,
    # whatever this machine has.
    env = {name: value for name, value in os.environ.items() if name != "TRTCTL_GPU_ARCH"}
    env.update(LD_LIBRARY_PATH=stub_libcuda, STUB_CUDA_GPUS="")
    done = subprocess.run(
        [sys.executable, "-c", NO_GPU_CHILD], env=env, cwd=project.root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("GpuError: "), done
    assert "TRTCTL_GPU_ARCH" in done.stdout, done.stdout
    assert project.builds() == []


def test_every_error_is_a_trtctl_error() -> None:
    for name in ["InputError", "ManifestError", "RemoteError", "BuildError", "IntegrityError",
                 "CacheError", "GpuError", "TensorRTError", "TimeoutError"]:
        assert issubclass(getattr(trtctl, name), trtctl.Error), name


def test_a_bad_gpu_arch_or_selector_is_an_input_error(project: Project) -> None:
    with pytest.raises(trtctl.InputError, match="`sm86` is not a GPU arch"):
        trtctl.build_or_load_engine("models/arcface_r100.onnx", gpu_arch="sm86")
    manifest = project.write_manifest('trt_version = "10.3.0"\n[[model]]\nname = "arcface_r100"\nonnx = "models/arcface_r100.onnx"\n')
    with pytest.raises(trtctl.InputError, match="bad selector `a:b:c:d`"):
        trtctl.plan(manifest, target="a:b:c:d")


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"batch_size": -1}, "batch_size = -1"),
        ({"batch_size": 2**40}, f"batch_size = {2**40}"),
        ({"gpu": -1}, "gpu = -1"),
        ({"max_batch": -8}, "max_batch = -8"),
    ],
)
def test_a_number_out_of_range_is_an_input_error_naming_the_argument(
    project: Project, arguments: Dict[str, int], named: str
) -> None:
    with pytest.raises(trtctl.InputError) as raised:
        trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0", **arguments)  # type: ignore[arg-type]
    assert str(raised.value).startswith(f"{named} is out of range: pass a whole number from "), raised.value
    assert project.builds() == []


def test_a_timeout_of_zero_or_less_is_refused_alike_by_python_and_the_cli(project: Project) -> None:
    for timeout, shown in ((0, "0"), (-1, "-1"), (float("nan"), "NaN")):
        with pytest.raises(trtctl.InputError) as raised:
            trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0", timeout=timeout)
        message = str(raised.value)
        assert message.startswith(f"timeout {shown} is not a number of seconds above 0"), message
    cli = cli_error(
        "ensure", "--onnx", "models/arcface_r100.onnx", "--precision", "fp16", "--batch-size", "32", "--timeout", "0"
    )
    assert cli.startswith("error: timeout 0 is not a number of seconds above 0"), cli
    assert project.builds() == []
    engine, source = trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0", timeout=600)
    assert source == "built"


def test_a_missing_manifest_says_how_to_pass_one_in_python(project: Project) -> None:
    with pytest.raises(trtctl.ManifestError) as raised:
        trtctl.plan("missing.toml")
    message = str(raised.value)
    assert "cannot read manifest missing.toml" in message
    assert "the `manifest` argument in Python" in message, message


def test_tensorrt_changed_under_the_process_is_named_as_such(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")  # TensorRT 10.3.0, probed once
    monkeypatch.setenv("STUB_TRT_VERSION", "10.4.0")
    with pytest.raises(trtctl.BuildError) as raised:
        trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0", force_rebuild=True)
    message = str(raised.value)
    assert "local TensorRT 10.4.0" in message and "differs from TensorRT 10.3.0" in message, message
    assert "TensorRT changed under the running process; restart it" in message, message
    assert "manifest" not in message, message


def test_a_cache_dir_under_tilde_is_in_home_and_home_itself_is_refused(
    project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TENSORRT_CACHE_DIR", "~/tc")
    engine, _ = trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0")
    assert Path(engine).is_relative_to(tmp_path / "home" / "tc"), engine.path
    monkeypatch.setenv("TENSORRT_CACHE_DIR", "~")
    with pytest.raises(trtctl.CacheError, match="is the home directory, not a directory of its own"):
        trtctl.build_or_load_engine("models/arcface_r100.onnx", version="v1.0", force_rebuild=True)
