"""The same suites on ``--broker=inproc``, ``tcp`` and a real RabbitMQ, in subprocesses.

The user suite (tests/plugin/user_suite: publish and assert, consume and ack,
TTL with the clock, dead-lettering, faults) and the README's pytest examples
run as a user runs them; on RabbitMQ only the clock and fault tests skip,
each with its reason.  The examples/ projects run the same way in
test_examples.py.  .ci/run keeps the README's test command as its last line.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fakebroker.testing._management import ManagementAPI, ManagementError

ROOT = Path(__file__).resolve().parents[2]
USER_SUITE = Path(__file__).resolve().parent / "user_suite"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
BACKENDS = ["inproc", "tcp", RABBITMQ_URL]
TIMEOUT = 300.0
#: The user suite's tests that need fakebroker, and why they skip on RabbitMQ.
FAKE_ONLY = {
    "test_a_reservation_lapses_after_15_minutes": "fake_only: moves virtual time 15 minutes",
    "test_a_reservation_holds_for_almost_15_minutes": "fake_only: moves virtual time to just",
    "test_an_order_lost_with_its_connection_is_not_queued": "fake_only: injects a dropped",
    "test_the_second_publish_drops_the_connection": "@pytest.mark.broker(faults=...) needs fakebroker",
}


def _need(backend: str) -> None:
    if backend.startswith("amqp://"):
        try:
            ManagementAPI(url="http://guest:guest@127.0.0.1:15672").check()
        except ManagementError as error:
            pytest.skip(f"RabbitMQ with its management plugin is not reachable: {error}")


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-rs", "-p", "no:cacheprovider", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip


def _counts(output: str) -> dict[str, int]:
    summary = output.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|error)", summary)}


def _skips(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("SKIPPED")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_user_suite_passes_on_every_backend(backend: str) -> None:
    _need(backend)
    result = _pytest(USER_SUITE, f"--broker={backend}")
    output = result.stdout
    assert result.returncode == 0, output[-5000:] + result.stderr[-2000:]
    counts = _counts(output)
    assert counts["passed"] + counts.get("skipped", 0) >= 15
    if not backend.startswith("amqp://"):
        assert "skipped" not in counts
        return
    skipped = [name for name in FAKE_ONLY if f"::{name} SKIPPED" in output]
    assert skipped == list(FAKE_ONLY)
    assert counts["skipped"] == len(FAKE_ONLY)
    skips = "\n".join(_skips(output))
    assert all(reason in skips for reason in FAKE_ONLY.values())


def _readme_pytest_blocks() -> str:
    text = (ROOT / "README.md").read_text()
    section = re.split(r"^## ", text, flags=re.M)
    (broker_section,) = [s for s in section if s.startswith("pytest: the `broker` fixture")]
    return "\n".join(re.findall(r"```python\n(.*?)```", broker_section, flags=re.S))


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_readmes_pytest_examples_on_every_backend(backend: str, tmp_path: Path) -> None:
    """Every README test passes; on RabbitMQ one that moves the clock skips if marked
    ``fake_only``, else fails saying to mark it (virtual time is fakebroker's alone)."""
    _need(backend)
    source = _readme_pytest_blocks()
    (tmp_path / "test_readme_broker.py").write_text(source)
    result = _pytest(tmp_path, f"--broker={backend}")
    output = result.stdout
    tests = re.findall(r"^def (test_\w+)\(", source, flags=re.M)
    assert len(tests) >= 2
    for name, body in zip(tests, re.split(r"^def test_\w+\(", source, flags=re.M)[1:], strict=True):
        if backend.startswith("amqp://") and "clock.advance" in body:
            if f"::{name} SKIPPED" not in output:
                assert f"::{name} FAILED" in output
                assert "mark it @pytest.mark.fake_only" in output
        else:
            assert f"::{name} PASSED" in output, output[-4000:]


def test_ci_enables_the_management_plugin_and_runs_the_readmes_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "rabbitmq-plugins enable rabbitmq_management" in ci
    assert ci.strip().splitlines()[-1] in (ROOT / "README.md").read_text()
