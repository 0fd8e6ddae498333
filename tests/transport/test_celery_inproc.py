"""A real Celery worker consuming ``fakebroker://`` through kombu's event loop."""

from __future__ import annotations

import pytest

celery = pytest.importorskip("celery")

from celery.contrib.testing.worker import start_worker  # noqa: E402

TIMEOUT = 10.0


def _app(broker_url: str, queue: str) -> celery.Celery:
    app = celery.Celery("fbtest", broker=broker_url, backend="rpc://")
    app.conf.update(
        # kombu's hub polls for up to 10 s when idle: heartbeat timers bound the
        # poll, so the worker thread notices the shutdown quickly (as with RabbitMQ).
        broker_heartbeat=2,
        broker_connection_retry_on_startup=False,
        worker_hijack_root_logger=False,
        task_default_queue=queue,
        task_queues=None,
    )

    @app.task(name="fbtest.add", shared=False)
    def add(x: int, y: int) -> int:
        return x + y

    app.loader.import_module("celery.contrib.testing.tasks")
    return app


def test_celery_worker_runs_a_task_and_returns_its_result(url: str, qname: str) -> None:
    broker_url = "fakebroker://celery" if url.startswith("fakebroker") else url
    app = _app(broker_url, qname)
    with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=TIMEOUT):
        result = app.tasks["fbtest.add"].delay(2, 3)
        assert result.get(timeout=TIMEOUT) == 5
        assert app.tasks["fbtest.add"].delay(40, 2).get(timeout=TIMEOUT) == 42


def test_celery_worker_through_fakebroker_serve(qname: str) -> None:
    """The same app through `fakebroker serve` (TCP), as a Celery worker process would use it."""
    from fakebroker import serve

    with serve(port=0) as server:
        app = _app(server.url, qname)
        with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=TIMEOUT):
            assert app.tasks["fbtest.add"].delay(2, 3).get(timeout=TIMEOUT) == 5
