"""The python builder's build script (src/builder/build_engine.py) against NVIDIA's real
bindings: every attribute it uses is a name in the `tensorrt.so` of the tensorrt-cu12-bindings
wheel, whose strings hold the names of its classes, methods, properties and enum members.
The wheel is read, never imported: its module needs CUDA and TensorRT's libraries.

scripts/test.sh downloads the wheel from PyPI into target/tensorrt-bindings/ (once); where
PyPI could not be reached it leaves the reason in UNREACHABLE there, and this test is skipped.
"""

from __future__ import annotations

import ast
import io
import re
import zipfile
from typing import Dict, Set

import pytest

from conftest import REPO

BINDINGS_DIR = REPO / "target" / "tensorrt-bindings"
SCRIPT = REPO / "src" / "builder" / "build_engine.py"

# Attributes of Python's own objects that the script uses, and where each lives. A TensorRT
# attribute of the same name would go unchecked: keep this short.
PYTHON_ATTRIBUTES: Dict[str, type] = {
    "append": list,
    "isdigit": str,
    "read": io.BufferedReader,
    "split": str,
    "splitlines": str,
    "write": io.BufferedWriter,
}


def script_attributes(source: str) -> Set[str]:
    """Every attribute the script reads or sets, and the methods its classes define (TensorRT
    calls those: `log` of an ILogger), dunders aside."""
    names: Set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            names.update(f.name for f in node.body if isinstance(f, ast.FunctionDef))
    return {n for n in names if not (n.startswith("__") and n.endswith("__"))}


def identifiers(binary: bytes) -> Set[str]:
    """The identifier-like words of a binary's printable strings."""
    words: Set[str] = set()
    for run in re.finditer(rb"[\x20-\x7e]{2,}", binary):
        words.update(w.decode() for w in re.findall(rb"[A-Za-z_][A-Za-z0-9_]*", run.group()))
    return words


@pytest.fixture(scope="module")
def bindings() -> zipfile.ZipFile:
    wheels = sorted(BINDINGS_DIR.glob("tensorrt_cu12_bindings-*.whl"))
    if not wheels:
        unreachable = BINDINGS_DIR / "UNREACHABLE"
        if unreachable.exists():
            pytest.skip(f"PyPI was unreachable when scripts/test.sh ran: {unreachable.read_text().strip()}")
        pytest.fail(f"no tensorrt-cu12-bindings wheel in {BINDINGS_DIR}: scripts/test.sh downloads it")
    return zipfile.ZipFile(wheels[0])


def test_every_attribute_the_build_script_uses_is_in_the_real_bindings(
    bindings: zipfile.ZipFile,
) -> None:
    module = next(n for n in bindings.namelist() if n.endswith("/tensorrt.so"))
    names = identifiers(bindings.read(module))
    used = script_attributes(SCRIPT.read_text())
    missing = sorted(used - names - set(PYTHON_ATTRIBUTES))
    assert not missing, f"not in {module} of {bindings.filename}: {missing}"
    # The check is not vacuous: the names of the API the script builds with are among them.
    assert {"build_serialized_network", "parse_from_file", "set_timing_cache", "FP16"} <= used
    init = bindings.read(module.replace("tensorrt.so", "__init__.py")).decode()
    assert re.search(r"^__version__ = ", init, re.M), "the script reads tensorrt.__version__"


def test_the_python_attributes_set_aside_are_pythons() -> None:
    for name, owner in PYTHON_ATTRIBUTES.items():
        assert hasattr(owner, name), f"{owner.__name__} has no {name}"
    assert set(PYTHON_ATTRIBUTES) <= script_attributes(SCRIPT.read_text()), "unused entries"


def test_the_scan_sees_attributes_and_logger_methods() -> None:
    source = "class L(trt.ILogger):\n    def log(self, s, m):\n        pass\nx = trt.Builder(l).create_network(0)\n"
    assert script_attributes(source) == {"ILogger", "log", "Builder", "create_network"}
    assert identifiers(b"\x00create_network\x00Enable FP16 layer selection\x01") >= {
        "create_network",
        "FP16",
    }
