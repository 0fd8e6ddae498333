"""Worker semantics: ETAs on a virtual clock, expiry, retries, acks, shutdown, routing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from taskpost import App, AsyncResult, MaxRetriesExceededError, TaskRevokedError, states
from taskpost.testing import unique_name, worker_context

from .conftest import VirtualClock, skip_without_redelivery

TIMEOUT = 10.0


def state_of(result: AsyncResult[Any], expected: str) -> str:
    """The result's state once it is ``expected`` (or when TIMEOUT passed)."""
    deadline = time.monotonic() + TIMEOUT
    while result.state != expected and time.monotonic() < deadline:
        result.backend.peek(result.id, timeout=0.05)
    return result.state


class Flaky(RuntimeError):
    """A transient error."""


def test_countdown_is_held_until_due(app: App, clock: VirtualClock) -> None:
    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    result = add.apply_async((1, 1), countdown=30)
    worker = app.Worker()
    assert worker.run_until_idle() == clock.now + 30
    assert result.state == states.PENDING
    clock.advance(29.5)
    assert worker.run_until_idle() == clock.now + 0.5
    clock.advance(0.5)
    assert worker.run_until_idle() is None
    assert result.get(timeout=TIMEOUT) == 2
    worker.close()


def test_eta_datetime(app: App, clock: VirtualClock) -> None:
    @app.task
    def ping() -> str:
        return "pong"

    eta = datetime.fromtimestamp(clock.now + 60, tz=timezone.utc)
    result = ping.apply_async(eta=eta)
    worker = app.Worker()
    assert worker.run_until_idle() == eta.timestamp()
    clock.advance(60)
    worker.run_until_idle()
    assert result.get(timeout=TIMEOUT) == "pong"
    worker.close()


def test_expired_task_is_revoked(app: App, clock: VirtualClock) -> None:
    @app.task
    def ping() -> str:
        return "pong"

    expired = ping.apply_async(expires=10)
    held_then_expired = ping.apply_async(countdown=30, expires=20)
    fresh = ping.apply_async(expires=100)
    clock.advance(11)
    worker = app.Worker()
    assert worker.run_until_idle() == clock.now + 19
    assert fresh.get(timeout=TIMEOUT) == "pong"
    with pytest.raises(TaskRevokedError, match="expired"):
        expired.get(timeout=TIMEOUT)
    assert expired.state == states.REVOKED
    clock.advance(19)
    assert worker.run_until_idle() is None
    with pytest.raises(TaskRevokedError):
        held_then_expired.get(timeout=TIMEOUT)
    worker.close()


def test_retry_is_republished_with_its_countdown(app: App, clock: VirtualClock) -> None:
    @app.task(bind=True, max_retries=2)
    def eventually(self: Any) -> int:
        if self.request.retries < 2:
            self.retry(countdown=5)
        return int(self.request.retries)

    result = eventually.delay()
    worker = app.Worker()
    assert worker.run_until_idle() == clock.now + 5
    assert state_of(result, states.RETRY) == states.RETRY
    clock.advance(5)
    assert worker.run_until_idle() == clock.now + 5
    clock.advance(5)
    assert worker.run_until_idle() is None
    assert result.get(timeout=TIMEOUT) == 2
    worker.close()


def test_max_retries_exceeded(app: App, clock: VirtualClock) -> None:
    @app.task(bind=True, max_retries=1, default_retry_delay=3)
    def never(self: Any) -> None:
        self.retry()

    result = never.delay()
    worker = app.Worker()
    assert worker.run_until_idle() == clock.now + 3
    clock.advance(3)
    assert worker.run_until_idle() is None
    with pytest.raises(MaxRetriesExceededError):
        result.get(timeout=TIMEOUT)
    worker.close()


def test_autoretry_with_exponential_backoff(app: App, clock: VirtualClock) -> None:
    calls: list[float] = []

    @app.task(autoretry_for=(Flaky,), retry_backoff=True, max_retries=3)
    def shaky() -> None:
        calls.append(clock.now)
        raise Flaky("try again")

    result = shaky.delay()
    worker = app.Worker()
    delays = []
    while (due := worker.run_until_idle()) is not None:
        delays.append(due - clock.now)
        clock.advance(due - clock.now)
    assert delays == [1, 2, 4]
    assert len(calls) == 4
    with pytest.raises(Flaky, match="try again"):
        result.get(timeout=TIMEOUT)
    worker.close()


class _Gate:
    """A task body that blocks its first call until released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls == 1:
            self.started.set()
            assert self.release.wait(TIMEOUT)
            return "first run"
        return "second run"


@pytest.fixture
def gate() -> Iterator[_Gate]:
    gate = _Gate()
    yield gate
    gate.release.set()


@pytest.mark.parametrize("acks_late", [True, False], ids=["acks_late", "acks_early"])
def test_cold_shutdown_requeues_only_late_acked_tasks(
    app: App, gate: _Gate, acks_late: bool, broker_name: str
) -> None:
    skip_without_redelivery(broker_name)
    task = app.task(name="tests.gated", acks_late=acks_late)(gate)
    result = task.delay()
    worker = app.Worker(concurrency=1)
    worker.start()
    assert gate.started.wait(TIMEOUT)
    worker.stop(graceful=False, timeout=TIMEOUT)
    worker.close()
    gate.release.set()
    again = app.Worker()
    again.run_until_idle()
    again.close()
    if acks_late:
        assert result.get(timeout=TIMEOUT) == "second run"
        assert gate.calls == 2
    else:
        assert gate.calls == 1
        assert result.state == states.PENDING


class _Received(logging.Handler):
    def __init__(self, *, wanted: set[str]) -> None:
        super().__init__()
        self.wanted = set(wanted)
        self.done = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if "received" in text:
            self.wanted = {w for w in self.wanted if w not in text}
            if not self.wanted:
                self.done.set()


def test_warm_shutdown_finishes_running_and_requeues_unstarted(
    app: App, gate: _Gate, broker_name: str
) -> None:
    skip_without_redelivery(broker_name)
    blocker = app.task(name="tests.gated")(gate)

    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    first = blocker.delay()
    waiting = [add.delay(i, i) for i in range(3)]
    handler = _Received(wanted={r.id for r in waiting})
    logging.getLogger("taskpost.worker").addHandler(handler)
    logging.getLogger("taskpost.worker").setLevel(logging.INFO)
    try:
        worker = app.Worker(concurrency=1, prefetch=10)
        worker.start()
        assert gate.started.wait(TIMEOUT)
        assert handler.done.wait(TIMEOUT)
        worker.request_stop()
        gate.release.set()
        worker.stop(timeout=TIMEOUT)
    finally:
        logging.getLogger("taskpost.worker").removeHandler(handler)
    assert first.get(timeout=TIMEOUT) == "first run"
    assert [r.state for r in waiting] == [states.PENDING] * 3
    later = app.Worker()
    later.run_until_idle()
    later.close()
    assert [r.get(timeout=TIMEOUT) for r in waiting] == [0, 2, 4]


def test_tasks_run_concurrently_on_threads(app: App) -> None:
    barrier = threading.Barrier(4, timeout=TIMEOUT)

    @app.task
    def meet(i: int) -> int:
        barrier.wait()
        return i

    with worker_context(app, concurrency=4):
        results = [meet.delay(i) for i in range(4)]
        assert sorted(r.get(timeout=TIMEOUT) for r in results) == [0, 1, 2, 3]


def test_threaded_worker_holds_eta_on_the_virtual_clock(app: App, clock: VirtualClock) -> None:
    done = threading.Event()

    @app.task
    def later() -> str:
        done.set()
        return "done"

    with worker_context(app, poll_interval=0.02) as worker:
        result = later.apply_async(countdown=60)
        assert worker.ready.is_set()
        assert not done.wait(0.2)
        clock.advance(60)
        assert result.get(timeout=TIMEOUT) == "done"


def test_routing_to_named_queues(app: App) -> None:
    special, routed = unique_name(), unique_name()
    app.config_from_object({"task_routes": {"tests.routed": {"queue": routed}}})

    @app.task(queue=special)
    def on_special() -> str:
        return "special"

    @app.task(name="tests.routed")
    def by_route() -> str:
        return "routed"

    a, b, c = on_special.delay(), by_route.delay(), on_special.apply_async(queue=routed)
    default_worker = app.Worker()
    default_worker.run_until_idle()
    default_worker.close()
    assert a.state == b.state == c.state == states.PENDING
    worker = app.Worker(queues=[special, routed])
    worker.run_until_idle()
    worker.close()
    assert (a.get(timeout=TIMEOUT), b.get(timeout=TIMEOUT)) == ("special", "routed")
    assert c.get(timeout=TIMEOUT) == "special"
