"""The app the CLI test's worker process loads (``-A tests.taskpost.cli_app:app``)."""

from __future__ import annotations

import os

from taskpost import App

app = App(
    broker_url=os.environ.get("TASKPOST_TEST_BROKER", "memory://"),
    task_default_queue=os.environ.get("TASKPOST_TEST_QUEUE", "celery"),
    result_backend="rpc://",
)


@app.task(name="cli.add")
def add(x: int, y: int) -> int:
    """Adds."""
    return x + y


not_an_app = object()
