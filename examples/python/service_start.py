"""An inference service's start-up, as the seed did it, with trtctl: get the engine (from the
local cache, the remote cache or a fresh build), then hand it to TensorRT.

Type-checked with `mypy --strict` by the test command, so the package's annotations stay usable.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Dict

import trtctl

log = logging.getLogger("service")


def load_engine(onnx: Path, batch_size: int) -> trtctl.Engine:
    try:
        engine, source = trtctl.build_or_load_engine(
            onnx_path=onnx, precision="fp16", batch_size=batch_size, timeout=1800.0
        )
    except trtctl.InputError:
        raise  # a deployment mistake: fail the start-up loudly
    except trtctl.RemoteError as err:
        # The shared cache is down: build locally rather than not start at all.
        log.warning("remote engine cache unavailable (%s); building locally", err)
        engine, source = trtctl.build_or_load_engine(
            onnx_path=onnx, precision="fp16", batch_size=batch_size, remote=False
        )
    print(f"Engine loaded from: {source}")
    identity: trtctl.Identity = engine.identity
    log.info("%s (%s, %s, TensorRT %s): %d bytes, sha256 %s",
             engine.name, identity.precision, identity.arch, identity.trt, engine.size, engine.sha256)
    return engine


def prebuild(manifest: Path) -> bool:
    plan: trtctl.Plan = trtctl.plan(manifest)
    counts: Dict[str, int] = plan.counts
    log.info("plan: %s", counts)
    for step in plan.steps:
        log.info("%s %s %s", step.action, step.engine, step.reason)

    def on_progress(event: Dict[str, Any]) -> None:
        if event["event"] == "finished":
            log.info("%s %s: %s", event["action"], event["file"], event["outcome"]["outcome"])

    result: trtctl.ApplyResult = trtctl.apply(manifest, jobs=4, progress=on_progress)
    for outcome in result.outcomes:
        log.info("%s %s -> %s", outcome.action, outcome.engine, outcome.outcome)
    return result.ok


def main() -> int:
    logging.basicConfig(level=logging.INFO)
    if len(sys.argv) > 1 and sys.argv[1] == "prebuild":
        return 0 if prebuild(Path("engines.toml")) else 1
    engine = load_engine(Path("models/arcface_r100.onnx"), batch_size=32)
    try:
        cuda_engine: Any = engine.deserialize()
    except ImportError as missing:
        log.error("%s", missing)
        return 1
    log.info("deserialized: %s", cuda_engine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
