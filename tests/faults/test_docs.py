"""docs/faults.md: the ten-line chaos test runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import kombu

import fakebroker

DOC = Path(__file__).resolve().parents[2] / "docs" / "faults.md"


def test_the_ten_line_example_passes() -> None:
    block = re.search(r"## A chaos test in ten lines\n\n```python\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None
    code = block.group(1)
    assert len(code.strip().splitlines()) <= 11  # the def line and ten
    namespace: dict[str, object] = {"fakebroker": fakebroker, "kombu": kombu}
    exec(compile(code, str(DOC), "exec"), namespace)
    test = namespace["test_a_lost_confirm_makes_a_duplicate"]
    assert callable(test)
    test()
