"""House rules checked on every run: lint, format, types, public surfaces, sans-I/O core."""

from __future__ import annotations

import ast
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SANS_IO = ("fakebroker/core", "fakebroker/amqp")
FORBIDDEN = {"asyncio", "socket", "selectors", "threading", "aiohttp", "kombu", "amqp"}


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "cmd",
    [
        ("ruff", "check", "."),
        ("ruff", "format", "--check", "."),
    ],
    ids=["ruff-check", "ruff-format"],
)
def test_ruff(cmd: tuple[str, ...]) -> None:
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} is not installed (pip install -e '.[test]')")
    result = _run(*cmd)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("package", SANS_IO)
def test_sans_io_packages_import_no_io(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_taskpost_knows_kombu_only() -> None:
    offenders = [
        str(path)
        for path in (ROOT / "taskpost").rglob("*.py")
        if "fakebroker" in {n.split(".")[0] for n in _imports(path)}
    ]
    assert offenders == []


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("module", ["fakebroker", "fakebroker.core", "taskpost"])
def test_public_names_are_exported_and_private_modules_hidden(module: str) -> None:
    mod = importlib.import_module(module)
    exported = getattr(mod, "__all__", None)
    assert exported is not None, f"{module} has no __all__"
    for name in exported:
        assert hasattr(mod, name), f"{module}.__all__ names missing {name}"
        assert not name.startswith("_") or name == "__version__"


def test_no_module_reads_another_modules_private_attributes() -> None:
    """ruff's SLF001 is selected, ignored only under tests/, and package code is clean."""
    import tomllib

    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "SLF" in lint["select"]
    assert {k for k, v in lint["per-file-ignores"].items() if "SLF" in v} == {"tests/**"}
    result = _run(
        sys.executable, "-m", "ruff", "check", "--select", "SLF", "fakebroker", "taskpost"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _all_imports(path: Path, package: str) -> list[str]:
    """Absolute names of every import in ``path`` (relative ones resolved within ``package``)."""
    tree = ast.parse(path.read_text(), str(path))
    parts = [package, *path.relative_to(ROOT / package).with_suffix("").parts]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[: len(parts) - node.level]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.append(module)
    return names


def test_the_core_never_imports_faults_nor_a_front() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "fakebroker" / "core").rglob("*.py"))
        for name in _all_imports(path, "fakebroker")
        if name.startswith(("fakebroker.faults", "fakebroker.fronts", "fakebroker.amqp"))
        or name in {"fakebroker", "fakebroker._node"}
    ]
    assert offenders == []


def test_the_engine_never_imports_faults() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "fakebroker" / "amqp").rglob("*.py"))
        for name in _all_imports(path, "fakebroker")
        if name.startswith(("fakebroker.faults", "fakebroker.fronts"))
    ]
    assert offenders == []


def _code_strings(path: Path) -> str:
    """The source of ``path`` without its docstrings (strings that are statements)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        value = first.value if isinstance(first, ast.Expr) else None
        if (
            isinstance(body, list)
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
        ):
            body[0] = ast.Pass()
    return ast.unparse(tree)


@pytest.mark.parametrize(
    "needle",
    [
        "def erlang_binary(",
        "broker forced connection closure with reason",
        "'NO_ROUTE'",
        "SHUTDOWN_TEXT = ",
    ],
)
def test_one_meaning_is_written_once(needle: str) -> None:
    places = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "fakebroker").rglob("*.py"))
        if needle in _code_strings(path)
    ]
    assert len(places) == 1, places


#: Run in a fresh interpreter with -S: site-packages' .pth files (certifi's) import threading.
_IMPORT_PROBE = """
import json, sys
sys.path[:0] = [{root!r}, {site!r}]
before = set(sys.modules)
for name in {first!r}:
    __import__(name)
middle = set(sys.modules)
for name in {then!r}:
    __import__(name)
print(json.dumps({{"first": sorted(middle - before), "then": sorted(set(sys.modules) - middle)}}))
"""


def _imported(first: list[str], then: list[str]) -> tuple[set[str], set[str]]:
    """Top-level modules loaded by importing ``first``, then those ``then`` added."""
    import json
    import sysconfig

    code = _IMPORT_PROBE.format(
        root=str(ROOT), site=sysconfig.get_paths()["purelib"], first=first, then=then
    )
    result = _run(sys.executable, "-S", "-c", code)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    return (
        {m.split(".")[0] for m in loaded["first"]},
        {m.split(".")[0] for m in loaded["then"]},
    )


def test_importing_the_core_loads_no_io_at_all() -> None:
    loaded, _ = _imported(["fakebroker.core"], [])
    assert "fakebroker" in loaded
    assert loaded & (FORBIDDEN | {"logging"}) == set()


def test_importing_the_engine_adds_no_io_to_what_pamqp_loads() -> None:
    """pamqp imports logging (hence threading) itself; fakebroker.amqp adds nothing of the kind."""
    by_pamqp, by_engine = _imported(
        ["pamqp.commands", "pamqp.frame", "pamqp.decode", "pamqp.encode"],
        ["fakebroker.core", "fakebroker.amqp"],
    )
    assert by_pamqp & FORBIDDEN <= {"threading"}
    assert by_engine & (FORBIDDEN | {"logging"}) == set()


@pytest.mark.parametrize("package", SANS_IO)
def test_sans_io_packages_import_logging_only_when_called(package: str) -> None:
    """``logging`` loads ``threading``: the engine gets a log sink injected instead."""
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in tree.body:  # module level only
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "logging"]
    assert offenders == []
