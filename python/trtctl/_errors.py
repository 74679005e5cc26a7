"""The exceptions of trtctl: one hierarchy under :class:`Error`, each message the one line
the ``trtctl`` command prints for the same problem (what, where, and the fix)."""

from __future__ import annotations

import builtins


class Error(Exception):
    """Base class of every error trtctl raises."""


class InputError(Error, ValueError):
    """A bad argument: missing ONNX file, unknown precision or arch, bad name, batch range or selector."""


class ManifestError(Error):
    """engines.toml is missing or invalid; the message names the file, line and column."""


class RemoteError(Error):
    """The remote cache (S3, MinIO or a directory) refused, failed or is misconfigured."""


class BuildError(Error):
    """trtexec is missing, of another TensorRT, or failed to build the engine."""


class IntegrityError(Error):
    """A cached engine does not match its sidecar (size or digest)."""


class CacheError(Error):
    """The local engine cache cannot be read or written."""


class GpuError(Error):
    """No GPU to build for, or not the one asked for."""


class TensorRTError(Error):
    """The local TensorRT version cannot be determined."""


class TimeoutError(Error, builtins.TimeoutError):
    """The call ran past its ``timeout``; nothing half-written was committed."""
