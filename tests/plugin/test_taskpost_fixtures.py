"""The plugin's taskpost fixtures: an app on the active backend and a worker for it."""

from __future__ import annotations

from typing import Any


def test_taskpost_app_and_worker_round_trip(taskpost_app: Any, request: Any) -> None:
    @taskpost_app.task(name="plugin.add")
    def add(x: int, y: int) -> int:
        return x + y

    worker = request.getfixturevalue("taskpost_worker")
    assert worker is not None
    assert add.delay(20, 22).get(timeout=10) == 42


def test_taskpost_fixtures_follow_broker_on_every_backend(pytester: Any) -> None:
    pytester.makepyfile(
        """
        def test_enqueue(broker, taskpost_app):
            assert taskpost_app.conf.broker_url == broker.url

            @taskpost_app.task(name="plugin.mul")
            def mul(x, y):
                return x * y

            mul.delay(6, 7)
            broker.assert_published(headers={"task": "plugin.mul"})
        """
    )
    for backend in ("inproc", "tcp"):
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--broker={backend}")
        result.assert_outcomes(passed=1)
