"""A real Celery worker runs taskpost's tasks, and a taskpost worker runs Celery's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from taskpost import App, TaskRevokedError
from taskpost.testing import settings_for, worker_context

celery = pytest.importorskip("celery")
from celery.contrib.testing.worker import start_worker  # noqa: E402

TIMEOUT = 15.0


class Boom(ValueError):
    """Raised by a task on either side."""


@pytest.fixture
def celery_app(app: App, broker_url: str) -> Iterator[Any]:
    """A Celery app on the same broker and default queue as ``app``, with rpc:// results."""
    capp = celery.Celery("interop", set_as_current=False)
    capp.conf.update(
        broker_url=broker_url,
        result_backend="rpc://",
        task_default_queue=app.conf.task_default_queue,
        broker_transport_options=settings_for(broker_url)["broker_transport_options"],
        worker_hijack_root_logger=False,
    )
    yield capp
    capp.close()


@contextmanager
def celery_worker(capp: Any) -> Iterator[Any]:
    """``start_worker`` (pool solo) that stops promptly.

    Celery's event loop notices the stop flag only when it wakes up, which
    can take 10 s on an idle connection; a no-op message wakes it at once.
    """
    from celery.worker import state

    @capp.task(name="interop.wake", shared=False)
    def wake() -> None:
        """Does nothing: its message wakes the worker up."""

    with start_worker(capp, pool="solo", perform_ping_check=False, shutdown_timeout=20) as worker:
        yield worker
        state.should_terminate = 0
        wake.delay()


def test_celery_worker_runs_taskpost_messages(app: App, celery_app: Any) -> None:
    @celery_app.task(name="interop.mul", shared=False)
    def mul(x: int, y: int, *, z: int = 1) -> int:
        return x * y * z

    @celery_app.task(name="interop.fail", shared=False)
    def fail(text: str) -> None:
        raise Boom(text)

    with celery_worker(celery_app):
        product = app.send_task("interop.mul", (6, 7), {"z": 2})
        failure = app.send_task("interop.fail", ("from celery",))
        expired = app.send_task("interop.mul", (1, 1), expires=-60)
        assert product.get(timeout=TIMEOUT) == 84
        with pytest.raises(Boom, match="from celery"):
            failure.get(timeout=TIMEOUT)
        assert failure.traceback is not None and "Boom" in failure.traceback
        with pytest.raises(TaskRevokedError):
            expired.get(timeout=TIMEOUT)


def test_taskpost_worker_runs_celery_messages(app: App, celery_app: Any) -> None:
    @app.task(name="interop.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="interop.fail")
    def fail(text: str) -> None:
        raise Boom(text)

    with worker_context(app, concurrency=2):
        total = celery_app.send_task("interop.add", (2, 3))
        failure = celery_app.send_task("interop.fail", ("from taskpost",))
        assert total.get(timeout=TIMEOUT) == 5
        assert total.status == "SUCCESS"
        with pytest.raises(Boom, match="from taskpost"):
            failure.get(timeout=TIMEOUT)
        assert failure.status == "FAILURE"
