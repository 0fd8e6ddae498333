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
