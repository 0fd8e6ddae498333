"""A Celery worker loses its broker connection while it holds a task's message.

With ``acks_late`` the message is still unacked when the connection drops (a
fault rule at the worker's ``basic.ack``): the broker requeues it and the task
runs again (at-least-once), on the in-process fakebroker.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import pytest

celery = pytest.importorskip("celery")

from celery.contrib.testing.worker import start_worker  # noqa: E402

from fakebroker import transport  # noqa: E402

TIMEOUT = 20.0
_names = itertools.count()


def _app(
    name: str, acks_late: bool, on_run: Callable[[], None] = lambda: None
) -> tuple[celery.Celery, list[int]]:
    app = celery.Celery(name, broker=f"fakebroker://{name}", backend="rpc://")
    app.conf.update(
        broker_heartbeat=2,
        broker_connection_retry_on_startup=False,
        worker_hijack_root_logger=False,
        task_default_queue=f"{name}-q",
        task_acks_late=acks_late,
        worker_prefetch_multiplier=1,
    )
    runs: list[int] = []

    @app.task(name=f"{name}.work", shared=False)
    def work(x: int) -> int:
        runs.append(x)
        on_run()
        return x * 2

    app.loader.import_module("celery.contrib.testing.tasks")
    return app, runs


def test_acks_late_task_runs_again_after_the_worker_connection_drops() -> None:
    name = f"chaos-celery-late-{next(_names)}"
    ran_twice = threading.Event()
    app, runs = _app(name, acks_late=True, on_run=lambda: len(runs) >= 2 and ran_twice.set())
    broker = transport.get_broker(name)
    rule = broker.faults.drop_connection(on="basic.ack")
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=TIMEOUT):
            result = app.tasks[f"{name}.work"].delay(21)
            assert result.get(timeout=TIMEOUT) == 42
            assert ran_twice.wait(TIMEOUT)
            assert rule.fired == 1
            assert runs == [21, 21]  # ran, its ack was lost with the connection, ran again
    finally:
        transport.drop_broker(name)
