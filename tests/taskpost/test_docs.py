"""The example app and test in docs/taskpost.md run as written."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "taskpost.md"


@pytest.fixture
def shop_tasks() -> Iterator[types.ModuleType]:
    """The docs' ``shop.tasks`` module, built from the first python block."""
    blocks = [b.split("```")[0] for b in DOC.read_text().split("```python\n")[1:]]
    package, module = types.ModuleType("shop"), types.ModuleType("shop.tasks")
    package.tasks = module  # type: ignore[attr-defined]
    sys.modules.update({"shop": package, "shop.tasks": module})
    try:
        exec(compile(blocks[0], "shop/tasks.py", "exec"), module.__dict__)
        module.__dict__["__test_source__"] = blocks[1]
        yield module
    finally:
        module.app.close()
        del sys.modules["shop"], sys.modules["shop.tasks"]


def test_docs_example(shop_tasks: types.ModuleType) -> None:
    assert len(DOC.read_text().split("```python\n")[1].split("```")[0].strip().splitlines()) <= 15
    namespace: dict[str, object] = {}
    exec(compile(shop_tasks.__test_source__, "test_tasks.py", "exec"), namespace)
    namespace["test_add_later"]()  # type: ignore[operator]
