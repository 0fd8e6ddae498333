"""The README's Python examples run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _blocks() -> dict[str, str]:
    text = README.read_text()
    sections = re.split(r"^## ", text, flags=re.M)
    found = {}
    for section in sections[1:]:
        title = section.splitlines()[0].strip()
        blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
        if blocks:
            found[title] = "\n".join(blocks)
    return found


BLOCKS = _blocks()


def test_readme_has_the_client_examples() -> None:
    assert {"kombu, in-process", "Celery", "taskpost"} <= set(BLOCKS)
    app_lines = BLOCKS["taskpost"].split("def test_")[0].strip().splitlines()
    assert len(app_lines) <= 15  # the "15-line example app"


#: Sections whose examples are pytest tests: run by pytest, with their count of tests.
PYTEST_SECTIONS = {
    "pytest: the `broker` fixture": 2,
    "Fault injection": 1,
    "Redis: kombu's `redis://` and Celery on Redis": 1,
    "taskpost": 1,
}


@pytest.mark.parametrize("title", sorted(set(BLOCKS) - set(PYTEST_SECTIONS)))
def test_readme_example_runs_as_copied(tmp_path: Path, title: str) -> None:
    """Each block alone in a fresh interpreter, outside pytest: nothing imported for it."""
    script = tmp_path / "example.py"
    script.write_text(BLOCKS[title])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("title", sorted(PYTEST_SECTIONS))
def test_readme_pytest_example_passes(tmp_path: Path, title: str) -> None:
    (tmp_path / "test_readme_example.py").write_text(BLOCKS[title])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{PYTEST_SECTIONS[title]} passed" in result.stdout


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (README.parent / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in README.read_text()
