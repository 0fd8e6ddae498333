"""Each example's README runs as written: its install and test commands, in a fresh venv.

The venv sees this interpreter's packages (so nothing is downloaded but the
build backend) and gets its own editable installs of fakebroker and of the
example, exactly as the README's commands make them.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import venv
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROJECTS = sorted(p.name for p in EXAMPLES.iterdir() if (p / "pyproject.toml").exists())
BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
TIMEOUT = 300.0


def _commands(readme: Path) -> list[list[str]]:
    blocks = BLOCK.findall(readme.read_text())
    return [shlex.split(line) for block in blocks for line in block.splitlines() if line.strip()]


def _rabbitmq_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1.0):
            return True
    except OSError:
        return False


def test_the_examples_index_names_every_project() -> None:
    index = (EXAMPLES / "README.md").read_text()
    assert all(f"[{name}]({name}/)" in index for name in PROJECTS)


@pytest.mark.parametrize("project", PROJECTS)
def test_the_readme_commands_run_as_written(project: str, tmp_path: Path) -> None:
    commands = _commands(EXAMPLES / project / "README.md")
    assert [c[:3] for c in commands[:3]] == [
        ["pip", "install", "-e"],
        ["pip", "install", "-e"],
        ["python", "-m", "pytest"],
    ]
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"
    for command in commands:
        if any(arg.startswith("--broker=amqp://") for arg in command) and not (
            _rabbitmq_reachable()
        ):
            continue  # the README's RabbitMQ run needs one
        argv = [python, "-m", "pip", *command[1:]] if command[0] == "pip" else command
        if argv[0] == "python":
            argv[0] = python
        result = subprocess.run(
            argv, cwd=EXAMPLES / project, env=env, capture_output=True, text=True, timeout=TIMEOUT
        )
        assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}{result.stderr[-2000:]}"
        if "pytest" in command:
            assert " passed" in result.stdout and "failed" not in result.stdout
