"""trtctl: TensorRT engines built once, cached locally and remotely, loaded in one call.

The seed's call::

    engine, source = trtctl.build_or_load_engine("models/arcface_r100.onnx", precision="fp16", batch_size=32)
    print(f"Engine loaded from: {source}")   # "local_cache" | "remote" | "built"

``plan`` and ``apply`` do what ``trtctl plan`` and ``trtctl apply`` do for an ``engines.toml``.
Everything runs in the Rust library the ``trtctl`` command is made of.
"""

from __future__ import annotations

import logging
import os
from typing import Dict, Literal, Mapping, Optional, Tuple, Union

from . import _trtctl
from ._engine import Engine, Identity, Source
from ._errors import (
    BuildError,
    CacheError,
    Error,
    GpuError,
    InputError,
    IntegrityError,
    ManifestError,
    RemoteError,
    TensorRTError,
    TimeoutError,
)
from ._deploy import Fetched, Installed, fetch
from ._manifest import ApplyResult, Outcome, Plan, Progress, Step, apply, plan

__all__ = [
    "build_or_load_engine",
    "plan",
    "apply",
    "fetch",
    "Fetched",
    "Installed",
    "Engine",
    "Identity",
    "Source",
    "Plan",
    "Step",
    "ApplyResult",
    "Outcome",
    "Progress",
    "Error",
    "InputError",
    "ManifestError",
    "RemoteError",
    "BuildError",
    "IntegrityError",
    "CacheError",
    "GpuError",
    "TensorRTError",
    "TimeoutError",
    "__version__",
]

__version__: str = _trtctl.__version__

logger = logging.getLogger("trtctl")

PathLike = Union[str, "os.PathLike[str]"]
ShapeSpec = Union[Tuple[str, str, str], Mapping[str, str]]


def _shapes(shapes: Optional[Mapping[str, ShapeSpec]]) -> Optional[Dict[str, Tuple[str, str, str]]]:
    if shapes is None:
        return None
    out: Dict[str, Tuple[str, str, str]] = {}
    for name, spec in shapes.items():
        if isinstance(spec, Mapping):
            missing = [key for key in ("min", "opt", "max") if key not in spec]
            if missing:
                raise InputError(
                    f"shapes[{name!r}] lacks {', '.join(map(repr, missing))}: give "
                    '{"min": "1x3x112x112", "opt": "8x3x112x112", "max": "32x3x112x112"} or a (min, opt, max) tuple'
                )
            out[name] = (spec["min"], spec["opt"], spec["max"])
        else:
            low, mid, high = spec
            out[name] = (low, mid, high)
    return out


def build_or_load_engine(
    onnx_path: PathLike,
    precision: str = "fp16",
    batch_size: int = 32,
    *,
    model_name: Optional[str] = None,
    version: Optional[str] = None,
    family: Optional[str] = None,
    gpu: Optional[int] = None,
    gpu_arch: Optional[str] = None,
    trt_version: Optional[str] = None,
    cache_dir: Optional[PathLike] = None,
    remote: Union[str, Literal[False], None] = None,
    force_rebuild: bool = False,
    upload: bool = True,
    shapes: Optional[Mapping[str, ShapeSpec]] = None,
    min_batch: int = 1,
    opt_batch: Optional[int] = None,
    max_batch: Optional[int] = None,
    timeout: Optional[float] = None,
    hardware_compatibility: Optional[str] = None,
    version_compatible: bool = False,
    weights: Optional[str] = None,
) -> Tuple[Engine, Source]:
    """The engine for ``onnx_path`` on this machine's GPU, and where it came from.

    From the local cache (``"local_cache"``), else the remote cache (``"remote"``), else a fresh
    build with trtexec (``"built"``), which is then uploaded. Names, cache dir, environment
    (``TENSORRT_CACHE_DIR``, ``ARTIFACTS_*``, ``TRTEXEC``, ``TRTCTL_GPU_ARCH``,
    ``TRTCTL_TRT_VERSION``, ``TRTCTL_REMOTE``), fingerprint and verification are the CLI's.

    Args:
        onnx_path: The ONNX model.
        precision: ``fp32``, ``fp16``, ``bf16``, ``int8``, ``fp8`` or ``best``.
        batch_size: The largest batch (the profile is ``min_batch``..``max_batch``, optimized for
            ``opt_batch``; both default to ``batch_size``).
        model_name: Model name in the engine's file name (default: the ONNX file's stem).
        version: Model version (default: the first 8 hex digits of the ONNX sha256).
        family: Cache directory and remote prefix (default: the name up to its first ``_``).
        gpu: Build on this CUDA device index (default: the first GPU).
        gpu_arch: Plan as if a GPU of this arch (``"sm_86"``) were here. Where CUDA shows real
            GPUs, a build for an arch none of them has raises :class:`GpuError`; where it shows
            none, the build is simulated and its sidecar says so.
        trt_version: The TensorRT version to name and build for (default: the local one).
        cache_dir: The local engine cache (default: ``TENSORRT_CACHE_DIR``, else
            ``~/.cache/screenalytics/engines``).
        remote: ``s3://bucket/prefix`` or ``file:///dir``; ``False`` for none. Default:
            ``TRTCTL_REMOTE``, else ``s3://screenalytics-artifacts/engines`` at
            ``ARTIFACTS_ENDPOINT``, else none.
        force_rebuild: Build again even if a current engine is cached.
        upload: Publish an engine this call builds to the remote.
        shapes: Explicit profile per input: ``{"input": ("1x3x112x112", "8x3x112x112",
            "32x3x112x112")}`` or ``{"input": {"min": ..., "opt": ..., "max": ...}}``.
        timeout: Give up after this many seconds (raises :class:`trtctl.TimeoutError`); it must
            be above 0 (``None``: no limit).
        hardware_compatibility: TensorRT's hardware compatibility level, as a manifest's
            ``build`` table sets it: with ``"ampere+"`` the engine of any GPU of sm_80 or later is
            one ``sm_80-plus`` engine, built by and fetched for all of them.
        version_compatible: Build version-compatible: a host of a newer TensorRT without an
            engine of its own may use it where ``[trust]`` allows (see docs/compat.md).
        weights: ``"embedded"`` (default), ``"stripped"`` or ``"refittable"`` (TensorRT >= 10.14):
            the remote holds a weight-stripped plan, refitted here from ``onnx_path``; with
            ``"refittable"`` an ONNX whose weights alone changed is refitted, not rebuilt. The
            returned engine says so (:attr:`Engine.refitted`, :attr:`Engine.refits`).

    Raises:
        InputError: bad arguments (missing ONNX, unknown precision, bad batch range, a
            negative or too large ``batch_size`` or ``gpu``, a ``timeout`` of 0 or less, ...).
        GpuError, TensorRTError, BuildError, RemoteError, IntegrityError, CacheError,
        TimeoutError: as their names say; every message is the CLI's.
        KeyboardInterrupt: on Ctrl-C, after a clean stop.
    """
    fields = _trtctl.ensure(
        os.fspath(onnx_path),
        precision,
        batch_size,
        _shapes(shapes),
        min_batch=min_batch,
        opt_batch=opt_batch,
        max_batch=max_batch,
        name=model_name,
        version=version,
        family=family,
        gpu=gpu,
        gpu_arch=[] if gpu_arch is None else [gpu_arch],
        trt_version=trt_version,
        cache_dir=None if cache_dir is None else os.fspath(cache_dir),
        remote_url=remote if isinstance(remote, str) else None,
        remote_off=remote is False,
        force_rebuild=force_rebuild,
        upload=upload,
        timeout=timeout,
        hardware_compatibility=hardware_compatibility,
        version_compatible=version_compatible,
        weights=weights,
    )
    engine = Engine._from_native(fields)
    source: Source = fields["source"]
    logger.info("engine %s from %s", engine.name, source)
    return engine, source
