"""The declared runtime dependencies are exactly the third-party packages the code imports."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fakebroker", "taskpost")
#: A distribution's import name, where the two differ.
IMPORT_NAMES = {"aio-pika": "aio_pika", "fakeredis": "fakeredis"}
#: pytest loads these plugins itself (the pytest11 entry points): they may import pytest
#: without making it a runtime dependency of an application that uses taskpost.
PLUGINS = {"fakebroker/testing/plugin.py", "taskpost/pytest_plugin.py"}


def _declared() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {}
    for requirement in project["dependencies"]:
        distribution = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]
        names[IMPORT_NAMES.get(distribution, distribution.replace("-", "_"))] = requirement
    return names


def _imported() -> dict[str, str]:
    """Top-level module -> one file importing it, for every absolute import in the packages."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if str(path.relative_to(ROOT)) in PLUGINS:
                continue
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    found.setdefault(module.split(".")[0], str(path.relative_to(ROOT)))
    return found


def _third_party(imported: dict[str, str]) -> dict[str, str]:
    local = set(PACKAGES)
    return {
        name: where
        for name, where in imported.items()
        if name not in local and name not in sys.stdlib_module_names
    }


def test_every_third_party_import_is_declared() -> None:
    declared = _declared()
    missing = {n: w for n, w in _third_party(_imported()).items() if n not in declared}
    assert not missing, f"imported but not in [project] dependencies: {missing}"


def test_only_the_pytest_plugins_import_pytest() -> None:
    assert "pytest" not in _imported()


def test_every_declared_dependency_is_imported() -> None:
    used = _third_party(_imported())
    unused = [requirement for name, requirement in _declared().items() if name not in used]
    assert not unused, f"declared in [project] dependencies but imported nowhere: {unused}"
