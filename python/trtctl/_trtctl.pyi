"""The Rust extension behind trtctl; use the functions of the ``trtctl`` package instead."""

from typing import Any, Callable, Dict, List, Optional, Tuple

__version__: str

PlanParts = Tuple[str, str, List[Tuple[str, str]]]

def cli_main(argv: List[str]) -> int:
    """Runs a trtctl command line (program name first); returns its exit code."""

def ensure(
    onnx: str,
    precision: str,
    batch_size: int,
    shapes: Optional[Dict[str, Tuple[str, str, str]]] = None,
    *,
    min_batch: Optional[int] = None,
    opt_batch: Optional[int] = None,
    max_batch: Optional[int] = None,
    name: Optional[str] = None,
    version: Optional[str] = None,
    family: Optional[str] = None,
    gpu: Optional[int] = None,
    gpu_arch: List[str] = ...,
    trt_version: Optional[str] = None,
    cache_dir: Optional[str] = None,
    remote_url: Optional[str] = None,
    remote_off: bool = False,
    force_rebuild: bool = False,
    upload: bool = True,
    timeout: Optional[float] = None,
    hardware_compatibility: Optional[str] = None,
    version_compatible: bool = False,
    weights: Optional[str] = None,
) -> Dict[str, Any]:
    """Ensures one engine; returns its path, source, identity, sha256, size and fingerprint."""

def read_engine(path: str, sha256: str, size: int) -> bytes:
    """The engine's bytes if they still have this sha256 and size; else IntegrityError."""

def plan(
    manifest: str,
    *,
    targets: List[str] = ...,
    gpu_arch: List[str] = ...,
    no_upload: bool = False,
) -> PlanParts:
    """The plan as JSON, as text, and each step's action and reason."""

def apply(
    manifest: str,
    progress: Callable[[str], None],
    *,
    targets: List[str] = ...,
    force_rebuild: List[str] = ...,
    gpu_arch: List[str] = ...,
    no_upload: bool = False,
    jobs: int = 4,
    keep_going: bool = False,
) -> Tuple[PlanParts, str, List[str]]:
    """The plan's parts, the apply report as JSON, and each finished action as JSON."""

def fetch(
    manifest: str,
    *,
    lock: Optional[str] = None,
    targets: List[str] = ...,
    gpu_arch: List[str] = ...,
    jobs: int = 4,
) -> Tuple[List[Tuple[str, str, str, int, int]], List[str]]:
    """Each pinned engine installed (key, path, sha256, size, bytes downloaded) and the keys
    wanted here that the lock does not pin."""
