"""``fetch``: install exactly what ``engines.lock`` pins, on a host without ONNX or TensorRT."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Union

from . import _trtctl
from ._manifest import Selectors, _as_list


@dataclass(frozen=True)
class Installed:
    """A pinned engine, now in the local cache with the lock's bytes."""

    key: str
    """``family/file``, as the lock names it."""
    path: str
    """The engine in the local cache."""
    sha256: str
    size: int
    downloaded: int
    """Bytes fetched for it; 0 when the cache already held exactly these bytes."""

    def __fspath__(self) -> str:
        return self.path


@dataclass(frozen=True)
class Fetched:
    """What ``fetch`` did: every pinned engine it installed, and the engines wanted here that
    the lock does not pin (they did not exist when the lock was written)."""

    engines: List[Installed]
    unpinned: List[str]


def fetch(
    manifest: Union[str, "os.PathLike[str]"] = "engines.toml",
    *,
    lock: Union[str, "os.PathLike[str]", None] = None,
    target: Selectors = None,
    gpu_arch: Selectors = None,
    jobs: int = 4,
) -> Fetched:
    """Fetches the engines ``lock`` (default: ``engines.lock`` beside ``manifest``) pins for the
    local GPUs' archs (or ``gpu_arch``), like ``trtctl fetch``: sha256 and size are checked
    against the lock, nothing is built or uploaded, and neither the ONNX files nor TensorRT are
    needed. Raises ``IntegrityError`` when the remote holds other bytes than the lock pins,
    ``RemoteError`` when a pinned engine is missing there, ``InputError`` for a lock that does
    not fit the manifest or the archs; engines that could be installed stay installed.
    """
    installed, unpinned = _trtctl.fetch(
        os.fspath(manifest),
        lock=None if lock is None else os.fspath(lock),
        targets=_as_list(target),
        gpu_arch=_as_list(gpu_arch),
        jobs=jobs,
    )
    return Fetched(
        engines=[
            Installed(key=key, path=path, sha256=sha256, size=size, downloaded=downloaded)
            for key, path, sha256, size, downloaded in installed
        ],
        unpinned=unpinned,
    )
