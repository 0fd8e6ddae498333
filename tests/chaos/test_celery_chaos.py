"""A Celery worker loses its broker connection while it holds a task's message.

The pair of tests below drops the worker's consumer connection from inside
the running task (``broker.faults.drop_connections``), as when the worker
process dies mid-task, on the in-process fakebroker:

- with ``acks_late`` the message is still unacked: the broker requeues it
  and the task runs again (at-least-once);
- without it Celery acked the message before running the task: nothing is
  requeued, and the work of the run that died is lost (at-most-once).

The task body stands for the dying process by raising ``WorkerDied`` right
after the drop, so that run's work is never done.

Celery acks through kombu's hub (``hub.call_soon``), so with the ``solo``
pool, whose task runs inside the hub's own loop, the "early" ack would still
be waiting when the task body runs (checked in the broker: the message is
still unacked, and a drop then redelivers it even without acks_late; with
the ``threads`` pool too, until the hub thread gets to it).  So the pair
uses the ``threads`` pool, where the hub sends the ack while the task runs,
and the task waits until the broker has handled the ack before it drops the
connection.

A third test drops the connection at the worker's ``basic.ack`` (a fault
rule): the acks_late task ran, its ack is lost with the connection, and it
runs again.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

import pytest

celery = pytest.importorskip("celery")

from celery.contrib.testing.worker import start_worker  # noqa: E402

import fakebroker  # noqa: E402
from fakebroker import Node  # noqa: E402
from fakebroker.testing import wait_for  # noqa: E402

TIMEOUT = 20.0
_names = itertools.count()


def _app(
    name: str, acks_late: bool, on_run: Callable[[], None] = lambda: None
) -> tuple[celery.Celery, list[int], list[int]]:
    """The app, the task's runs (started) and its finished runs (the work done)."""
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
    finished: list[int] = []

    @app.task(name=f"{name}.work", shared=False)
    def work(x: int) -> int:
        runs.append(x)
        on_run()  # may raise WorkerDied: the process dies before the work is done
        finished.append(x)
        return x * 2

    app.loader.import_module("celery.contrib.testing.tasks")
    return app, runs, finished


class WorkerDied(Exception):
    """Stands for the worker process dying mid-task: the task's work is not done."""


def _consumers(node: Node, queue: str) -> list[str]:
    """The connections consuming ``queue`` (the worker's consumer connection)."""
    with node.locked() as broker:
        return [c["connection"] for c in broker.list_consumers() if c["queue"] == queue]


def _state(node: Node, queue: str) -> tuple[int, int]:
    """(ready, unacked) of ``queue``."""
    with node.locked() as broker:
        (info,) = [q for q in broker.list_queues() if q.name == queue]
        return info.messages_ready, info.messages_unacknowledged


def _acks(node: Node, queue: str) -> int:
    with node.locked() as broker:
        return len(broker.journal.entries("acked", queue=queue))


class WorkerDies:
    """The task body's fault: drop the worker's consumer connection, once, and note the queue.

    ``wait_for_ack``: first wait until the broker has handled the worker's ack
    (Celery without acks_late acks before the task runs, deferred through the hub).
    """

    def __init__(self, node: Node, queue: str, *, wait_for_ack: bool) -> None:
        self.node, self.queue, self.wait_for_ack = node, queue, wait_for_ack
        self.seen: dict[str, Any] = {}
        self.done = threading.Event()
        self.ran_again = threading.Event()

    def __call__(self) -> None:
        if self.done.is_set():
            self.ran_again.set()
            return
        node, queue = self.node, self.queue
        if self.wait_for_ack:
            wait_for(lambda: _acks(node, queue) == 1, TIMEOUT, node=node)
        (connection,) = _consumers(node, queue)
        self.seen.update(connection=connection, before=_state(node, queue))
        with node.locked():  # the state the drop left, before the worker reconnects
            self.seen["dropped"] = node.faults.drop_connections(connection=connection)
            self.seen["after"] = _state(node, queue)
        self.done.set()
        raise WorkerDied("the worker's process is gone: the work is not done")


def _run_worker_dies(
    *, acks_late: bool, pool: str = "threads", wait_for_ack: bool | None = None
) -> tuple[WorkerDies, list[int], list[int]]:
    """Run one task whose first run drops its worker's consumer connection and dies.

    Returns the fault's observations, the task's runs and its finished runs.
    """
    name = f"chaos-celery-dies-{int(acks_late)}-{next(_names)}"  # lower case: a URL host
    queue = f"{name}-q"
    holder: list[WorkerDies] = []
    app, runs, finished = _app(name, acks_late=acks_late, on_run=lambda: holder[0]())
    node = fakebroker.get_node(name)
    wait = not acks_late if wait_for_ack is None else wait_for_ack
    dies = WorkerDies(node, queue, wait_for_ack=wait)
    holder.append(dies)
    try:
        with start_worker(app, pool=pool, perform_ping_check=False, shutdown_timeout=TIMEOUT):
            app.tasks[f"{name}.work"].delay(21)  # its first run fails: no result to wait for
            assert dies.done.wait(TIMEOUT)
            if dies.seen["after"] != (0, 0):  # requeued: it runs again, to the end
                assert dies.ran_again.wait(TIMEOUT)
                assert wait_for(lambda: finished == [21], TIMEOUT)
            # the worker reconnected and consumes again, on a new connection
            wait_for(lambda: _consumers(node, queue) not in ([], [dies.seen["connection"]]))
            wait_for(lambda: _state(node, queue) == (0, 0), TIMEOUT)
            return dies, list(runs), list(finished)
    finally:
        fakebroker.drop_node(name)


def test_without_acks_late_a_task_whose_worker_dies_is_lost() -> None:
    dies, runs, finished = _run_worker_dies(acks_late=False)
    assert dies.seen["dropped"] == 1
    assert dies.seen["before"] == (0, 0)  # acked (checked in the broker) before the drop
    assert dies.seen["after"] == (0, 0)  # so nothing came back to the queue
    assert not dies.ran_again.is_set()
    assert runs == [21]  # started once, never again:
    assert finished == []  # the work is lost (at-most-once)


def test_with_acks_late_a_task_whose_worker_dies_runs_again() -> None:
    dies, runs, finished = _run_worker_dies(acks_late=True)
    assert dies.seen["dropped"] == 1
    assert dies.seen["before"] == (0, 1)  # still unacked while the task runs
    assert dies.seen["after"] == (1, 0)  # requeued by the drop
    assert runs == [21, 21]  # ran again on the worker's new connection
    assert finished == [21]  # and this time the work was done (at-least-once)


def test_without_acks_late_the_early_ack_is_still_deferred_when_a_solo_task_starts() -> None:
    # Celery "acks before running the task", but kombu's hub sends that ack only after
    # the solo pool's task returns: a worker dying at the start of the task loses nothing.
    dies, runs, finished = _run_worker_dies(acks_late=False, pool="solo", wait_for_ack=False)
    assert dies.seen["before"] == (0, 1)  # not acked yet, in the broker
    assert dies.seen["after"] == (1, 0)
    assert (runs, finished) == ([21, 21], [21])


def test_acks_late_task_runs_again_when_its_ack_is_lost_with_the_connection() -> None:
    name = f"chaos-celery-late-{next(_names)}"
    ran_twice = threading.Event()
    app, runs, _ = _app(name, acks_late=True, on_run=lambda: len(runs) >= 2 and ran_twice.set())
    node = fakebroker.get_node(name)
    rule = node.faults.drop_connection(on="basic.ack")
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=TIMEOUT):
            result = app.tasks[f"{name}.work"].delay(21)
            assert result.get(timeout=TIMEOUT) == 42
            assert ran_twice.wait(TIMEOUT)
            assert rule.fired == 1
            assert runs == [21, 21]  # ran, its ack was lost with the connection, ran again
    finally:
        fakebroker.drop_node(name)
