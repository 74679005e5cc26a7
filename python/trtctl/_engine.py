"""The engine handed out by :func:`trtctl.build_or_load_engine`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Union, cast

from . import _trtctl

Source = Literal["local_cache", "remote", "built"]


@dataclass(frozen=True)
class Identity:
    """The five parts of an engine's name: ``{model}_{version}_{precision}_{arch}_{trt}.trt``."""

    model: str
    version: str
    precision: str
    arch: str
    trt: str


@dataclass(frozen=True)
class Engine(os.PathLike[str]):
    """A TensorRT engine in the local cache, verified against its sidecar.

    It is ``os.PathLike``: ``open(engine, "rb")`` and ``pathlib.Path(engine)`` work.
    """

    path: str
    """Absolute path of the engine file in the local cache."""
    name: str
    """The engine's file name."""
    family: str
    """The cache directory (and remote prefix) the engine lives under."""
    identity: Identity
    """Model, version, precision, GPU arch and TensorRT version."""
    sha256: str
    """sha256 of the engine's bytes, as recorded in its sidecar."""
    size: int
    """Size of the engine in bytes."""
    fingerprint: Union[str, None]
    """sha256 over every build input (ONNX digest, precision, arch, TensorRT, shapes, flags)."""
    trt_build: Union[str, None] = None
    """The exact TensorRT build that made the plan (``"10.3.0.26"``), as its header says."""
    gpu_model: Union[str, None] = None
    """The model key of the GPU that built it (``"a10g"``), as ``trtctl gpus`` shows it."""
    hardware_compatibility: Union[str, None] = None
    """TensorRT's hardware compatibility level it was built with (``"ampere+"``), if any."""
    version_compatible: bool = False
    """Whether it was built version-compatible (loadable by a newer TensorRT)."""
    weights: Union[str, None] = None
    """``"stripped"`` or ``"refittable"`` for an engine refitted here from a weight-stripped
    plan with the ONNX's weights (``None``: the weights were built in)."""
    refits: int = 0
    """How many times this cached copy was refitted since its plan was built or fetched."""
    plan_size: Union[int, None] = None
    """Size of the weight-stripped plan the remote holds for it, in bytes."""

    @property
    def refitted(self) -> bool:
        """Whether the engine was refitted on this machine from a weight-stripped plan."""
        return self.refits > 0

    @classmethod
    def _from_native(cls, fields: Mapping[str, Any]) -> "Engine":
        return cls(
            path=os.fspath(fields["path"]),
            name=str(fields["name"]),
            family=str(fields["family"]),
            identity=Identity(
                model=str(fields["model"]),
                version=str(fields["version"]),
                precision=str(fields["precision"]),
                arch=str(fields["arch"]),
                trt=str(fields["trt"]),
            ),
            sha256=str(fields["sha256"]),
            size=int(fields["size"]),
            fingerprint=cast(Union[str, None], fields["fingerprint"]),
            trt_build=cast(Union[str, None], fields.get("trt_build")),
            gpu_model=cast(Union[str, None], fields.get("gpu_model")),
            hardware_compatibility=cast(Union[str, None], fields.get("hardware_compatibility")),
            version_compatible=bool(fields.get("version_compatible", False)),
            weights=cast(Union[str, None], fields.get("weights")),
            refits=int(fields.get("refits", 0)),
            plan_size=cast(Union[int, None], fields.get("plan_size")),
        )

    def __fspath__(self) -> str:
        return self.path

    def read_bytes(self) -> bytes:
        """The engine's serialized bytes, checked against :attr:`sha256` and :attr:`size`.

        Raises :class:`trtctl.IntegrityError` when the file is no longer the engine this handle
        was given (another build under the same name replaced it, or it was damaged): ask for
        the engine again. Reading :attr:`path` yourself skips this check.
        """
        return _trtctl.read_engine(self.path, self.sha256, self.size)

    def deserialize(self, runtime: Any = None) -> Any:
        """The engine as a TensorRT ``ICudaEngine``, via the ``tensorrt`` module.

        ``runtime`` is a ``tensorrt.Runtime``; by default one with a warning-level logger is made.
        The bytes are those of :meth:`read_bytes`, checked the same way.
        """
        try:
            import tensorrt  # type: ignore[import-not-found]
        except ImportError as missing:
            raise ImportError(
                "Engine.deserialize() needs TensorRT's Python package (`pip install tensorrt`, "
                f"matching TensorRT {self.identity.trt}); or load {self.path} with your own runtime"
            ) from missing
        if runtime is None:
            runtime = tensorrt.Runtime(tensorrt.Logger(tensorrt.Logger.WARNING))
        engine = runtime.deserialize_cuda_engine(self.read_bytes())
        if engine is None:
            from ._errors import Error

            raise Error(
                f"TensorRT could not deserialize {self.path}: it was built for {self.identity.arch} "
                f"with TensorRT {self.identity.trt}; run it on that GPU with that TensorRT"
            )
        return engine
