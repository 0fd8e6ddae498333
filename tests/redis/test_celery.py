"""A real Celery app (worker, retries, a chord on the redis result backend) on the Redis flavour."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery, chord
from celery.contrib.testing.worker import start_worker

from fakebroker.testing._redis import RedisBrokerHandle


@pytest.fixture
def app(redis: RedisBrokerHandle) -> Iterator[Celery]:
    app = Celery("shop", broker=redis.url, backend=redis.url, set_as_current=False)
    app.conf.update(
        broker_transport_options=redis.transport_options,
        result_backend_transport_options=redis.transport_options,
        broker_connection_retry_on_startup=False,
        worker_hijack_root_logger=False,
        task_default_queue=f"{redis.prefix}celery",
        result_expires=3600,
    )

    @app.task(name="add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="total")
    def total(numbers: list[int]) -> int:
        return sum(numbers)

    @app.task(name="flaky", bind=True, max_retries=3)
    def flaky(self: Any) -> int:
        if self.request.retries < 2:
            raise self.retry(countdown=0)
        return int(self.request.retries) + 1

    yield app
    app.close()


def test_worker_runs_tasks_retries_and_a_chord(app: Celery, redis: RedisBrokerHandle) -> None:
    with start_worker(app, perform_ping_check=False, shutdown_timeout=10):
        assert app.tasks["add"].delay(2, 3).get(timeout=10) == 5
        assert app.tasks["flaky"].delay().get(timeout=10) == 3
        header = [app.tasks["add"].s(i, i) for i in range(5)]
        result = chord(header)(app.tasks["total"].s())
        assert result.get(timeout=10) == 20
    if redis.kind != "redis":
        assert redis.published(routing_key=f"{redis.prefix}celery")  # the journal saw them
        assert redis.unacked == {}
