"""taskpost on the Redis flavour: its whole suite's Redis scenarios, and a round trip here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fakebroker.testing._redis import RedisBrokerHandle
from taskpost.testing import app_context

ROOT = Path(__file__).resolve().parents[2]


def test_delay_and_get_through_a_worker(redis: RedisBrokerHandle) -> None:
    with app_context(broker_url=redis.url, broker_transport_options=redis.transport_options) as app:

        @app.task(name="mul")
        def mul(x: int, y: int) -> int:
            return x * y

        result = mul.delay(6, 7)
        app.Worker().run_until_idle()
        assert result.get(timeout=10) == 42


def test_taskposts_redis_scenarios_pass_on_fakebroker() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/taskpost",
            "-k",
            "redis",
            "-p",
            "tests.redis.taskpost_on_fakebroker",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "(fakebroker's Redis front)" in run.stdout
    assert " passed" in run.stdout and "skipped" not in run.stdout.splitlines()[-1]
