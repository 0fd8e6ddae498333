"""Each project under examples/ runs its own suite in a subprocess, as its users would.

Each suite runs on the three backends: ``--broker=inproc``, ``--broker=tcp``
and the real RabbitMQ (``--broker=amqp://...``) when it is reachable.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROJECTS = sorted(p.name for p in EXAMPLES.iterdir() if (p / "pyproject.toml").exists())
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
TIMEOUT = 120.0


def _rabbitmq_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1.0):
            return True
    except OSError:
        return False


def _run_suite(project: str, *options: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *options],
        cwd=EXAMPLES / project,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def _assert_passed(result: subprocess.CompletedProcess[str], *, real: bool = False) -> None:
    """Passed; on RabbitMQ only ``fake_only`` tests may skip (with their reason)."""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    if real:
        assert all("fake_only: " in line for line in skips), skips
    else:
        assert "skipped" not in result.stdout


def test_every_client_has_an_example() -> None:
    assert PROJECTS == ["aiopika_app", "celery_app", "kombu_app", "pika_app"]


@pytest.mark.parametrize("backend", ["inproc", "tcp", "amqp"])
@pytest.mark.parametrize("project", PROJECTS)
def test_example_suite_passes_on_every_backend(project: str, backend: str) -> None:
    if backend == "amqp":
        if not _rabbitmq_reachable():
            pytest.skip("RabbitMQ is not reachable on 127.0.0.1:5672")
        _assert_passed(_run_suite(project, "-rs", f"--broker={RABBITMQ_URL}"), real=True)
    else:
        _assert_passed(_run_suite(project, f"--broker={backend}"))


def test_example_suites_pass_over_tcp_in_parallel() -> None:
    for project in ("kombu_app", "pika_app"):
        _assert_passed(_run_suite(project, "--broker=tcp", "-n", "2"))
