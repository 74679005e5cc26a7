#!/usr/bin/env python3
"""A `local_cache` hit through `trtctl.build_or_load_engine` (in-process) against
`subprocess.run(["trtctl", "ensure", ...])`, per call, median of 100, for a 100 MB ONNX.

Run in a venv with the package installed (scripts/test.sh makes one: target/py-venv):
    target/py-venv/bin/python scripts/bench-python.py
It also checks what a hit must not do: start trtexec (a counting wrapper around the stand-in
trtexec counts every start, `--version` included) or re-hash the ONNX (the hash memo's file
must not be rewritten).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List

import trtctl

REPO = Path(__file__).resolve().parents[1]
RUNS = 100
ONNX_MIB = 100


def big_onnx(path: Path) -> None:
    """The tiny model padded to 100 MB with an unknown protobuf field, still valid ONNX."""
    padding = ONNX_MIB * 1024 * 1024
    length = bytearray()
    value = padding
    while True:
        byte, value = value & 0x7F, value >> 7
        length.append(byte | (0x80 if value else 0))
        if not value:
            break
    with open(path, "wb") as out:
        out.write((REPO / "models" / "arcface_r100.onnx").read_bytes())
        out.write(bytes([0xA2, 0x06]) + bytes(length))  # field 100, length-delimited
        out.write(b"\0" * padding)


def counting_trtexec(dir: Path) -> Path:
    wrapper = dir / "trtexec"
    wrapper.write_text(
        f'#!/usr/bin/env bash\necho "$*" >> {dir / "starts.log"}\nexec {REPO / "tests/fixtures/trtexec"} "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def starts(dir: Path) -> int:
    log = dir / "starts.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def timed(call: Callable[[], object], runs: int) -> List[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    return times


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="trtctl-bench-"))
    try:
        os.chdir(work)
        (work / "models").mkdir()
        onnx = work / "models" / "arcface_r100.onnx"
        big_onnx(onnx)
        wrapper = counting_trtexec(work)
        for var in ["TRTCTL_TRT_VERSION", "TRTCTL_REMOTE", "ARTIFACTS_ENDPOINT", "AWS_ENDPOINT_URL"]:
            os.environ.pop(var, None)
        os.environ.update(
            TENSORRT_CACHE_DIR=str(work / "cache"), TRTEXEC=str(wrapper), TRTCTL_GPU_ARCH="sm_86"
        )
        call = lambda: trtctl.build_or_load_engine(onnx, "fp16", 32, version="v1.0")  # noqa: E731

        first = timed(call, 1)[0]
        assert call()[1] == "local_cache"
        memo = work / "cache" / ".onnx-hashes.json"
        memo_stamp = memo.stat().st_mtime_ns
        starts_before = starts(work)
        hits = timed(call, RUNS)
        assert starts(work) == starts_before, "a hit started trtexec"
        assert memo.stat().st_mtime_ns == memo_stamp, "a hit re-hashed the ONNX"

        script = shutil.which("trtctl", path=str(Path(sys.executable).parent)) or "trtctl"
        argv = [script, "ensure", "--onnx", str(onnx), "--precision", "fp16", "--batch-size", "32", "--version", "v1.0"]
        run = lambda: subprocess.run(argv, check=True, capture_output=True)  # noqa: E731
        processes = timed(run, RUNS)
        per_process_starts = (starts(work) - starts_before) / RUNS

        print(f"ONNX {onnx.stat().st_size / 1e6:.0f} MB; first call (hash + TensorRT detection + build) {first:.0f} ms")
        print("| per call, median of 100 | median | p90 |")
        print("|---|---:|---:|")
        for label, times in [
            ("`build_or_load_engine` hit, in-process", hits),
            ("`subprocess.run([\"trtctl\", \"ensure\", ...])` hit", processes),
        ]:
            p90 = statistics.quantiles(times, n=10)[-1]
            print(f"| {label} | {statistics.median(times):.2f} ms | {p90:.2f} ms |")
        print(f"trtexec starts during in-process hits: 0; per subprocess call: {per_process_starts:.0f}")
    finally:
        os.chdir(REPO)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
