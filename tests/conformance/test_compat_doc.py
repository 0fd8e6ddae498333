"""docs/compatibility.md is generated from the scenarios: it must say what they say now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

GENERATOR = Path(__file__).with_name("gen_compat.py")


def test_compatibility_doc_is_up_to_date() -> None:
    """A scenario added, fixed or marked divergent changes the doc: regenerate it."""
    ran = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"],
        capture_output=True, text=True, cwd=GENERATOR.parents[2], timeout=120, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, (
        f"docs/compatibility.md is out of date: run `python {GENERATOR.relative_to(GENERATOR.parents[2])}`"
        f"\n{ran.stdout[-2000:]}{ran.stderr[-2000:]}"
    )
