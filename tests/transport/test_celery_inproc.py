"""A real Celery worker consuming ``fakebroker://`` through kombu's event loop."""

from __future__ import annotations

import pytest

celery = pytest.importorskip("celery")

from celery.contrib.testing.worker import start_worker  # noqa: E402

import fakebroker.transport as fbt  # noqa: E402

TIMEOUT = 10.0


def _app() -> celery.Celery:
    app = celery.Celery("fbtest", broker="fakebroker://celery", backend="rpc://")
    app.conf.update(
        broker_connection_retry_on_startup=False,
        worker_hijack_root_logger=False,
        task_default_queue="fbtest",
    )

    @app.task(name="fbtest.add")
    def add(x: int, y: int) -> int:
        return x + y

    app.loader.import_module("celery.contrib.testing.tasks")
    return app


def test_celery_worker_runs_a_task_and_returns_its_result() -> None:
    app = _app()
    with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=TIMEOUT):
        result = app.tasks["fbtest.add"].delay(2, 3)
        assert result.get(timeout=TIMEOUT) == 5
        assert app.tasks["fbtest.add"].delay(40, 2).get(timeout=TIMEOUT) == 42
    assert "celery" in fbt.brokers()
