"""``run_until_idle``: deliver everything deliverable on an in-process broker.

In-process clients read the broker's output only when they call
``drain_events`` (through a :class:`~fakebroker.fronts._pipe.Pipe`).  Connections
the test made with ``broker.connection()`` are drained here, in the test's
thread, so their consumers' callbacks run; clients driven by other threads
(a Celery worker) read on their own, and we wait for them.

Idle means, at one instant under the broker's lock:

- no timer of the broker's clock is due;
- every connection made with ``broker.connection()`` has nothing left to read;
- when other threads drive clients of the broker (a Celery worker): no
  message is unacknowledged and no ready message waits in a queue that has
  consumers.  Work a consumer does after acknowledging (Celery acks before it
  runs a task unless ``task_acks_late``) is not waited for: wait for its
  result, or use :func:`wait_for`.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._node import Node

__all__ = ["drain", "is_idle", "run_until_idle", "wait_for"]

#: How often waits poll shared state that has no event to wait on (seconds).
POLL = 0.002
#: With a broker, waits wake on its changes; this bounds a wait for anything else.
RECHECK = 0.05


def drain(connection: Any) -> int:
    """Handle every event ``connection`` (kombu or py-amqp) can read now; return how many."""
    if not getattr(connection, "connected", False):
        return 0
    handled = 0
    while True:
        try:
            connection.drain_events(timeout=0)
        except TimeoutError:
            return handled
        handled += 1


def is_idle(node: Node) -> bool:
    """Whether nothing is due, in flight, or being worked on by another thread."""
    with node.lock:
        clock = node.broker.clock
        deadline = clock.next_deadline()
        if deadline is not None and deadline <= clock.now():
            return False
        if not node.others_driving():
            return True
        return not any(
            q.messages_unacknowledged or (q.messages_ready and q.consumers)
            for q in node.broker.list_queues()
        )


def run_until_idle(node: Node, connections: Iterable[Any], *, timeout: float = 10.0) -> int:
    """Run timers and drain ``connections`` until :func:`is_idle`; return events handled.

    Raises :class:`TimeoutError` if the broker is still busy after ``timeout``
    (wall-clock) seconds.
    """
    conns = list(connections)
    handled = 0
    limit = time.monotonic() + timeout
    while True:
        node.run_due()
        progressed = sum(drain(c) for c in conns)
        handled += progressed
        if not progressed and is_idle(node):
            return handled
        if time.monotonic() > limit:
            raise TimeoutError(f"broker still busy after {timeout} s: {_busy(node)}")
        if not progressed:  # others' progress (a worker thread's acks) wakes this
            with node.changed:
                if not is_idle(node):
                    node.changed.wait(RECHECK)


def wait_for(
    predicate: Callable[[], Any], timeout: float = 10.0, *, node: Node | None = None
) -> Any:
    """Wait until ``predicate()`` returns something truthy, and return that.

    With ``node``, the predicate runs under the node's lock and is
    re-checked each time a front lets a client change the broker (bytes
    handled, timers run, a connection gone), so waiting on broker state needs
    no polling; anything else it reads is re-checked every 50 ms. Without,
    it is polled. Raises :class:`TimeoutError` (with the last value) after
    ``timeout`` seconds.
    """
    limit = time.monotonic() + timeout
    if node is not None:
        return _wait_on_changes(node, predicate, timeout, limit)
    pause = POLL
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > limit:
            raise TimeoutError(f"condition not met within {timeout} s (last value {value!r})")
        threading.Event().wait(pause)
        pause = min(pause * 2, 0.05)


def _wait_on_changes(node: Node, predicate: Callable[[], Any], timeout: float, limit: float) -> Any:
    changed = node.changed
    with changed:
        while True:
            value = predicate()
            if value:
                return value
            remaining = limit - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s (last value {value!r})")
            changed.wait(min(remaining, RECHECK))


def _busy(node: Node) -> str:
    with node.lock:
        busy = [
            f"{q.vhost}/{q.name}: {q.messages_ready} ready, {q.messages_unacknowledged} unacked"
            for q in node.broker.list_queues()
            if q.messages_unacknowledged or (q.messages_ready and q.consumers)
        ]
        unread = sum(pipe.pending() for pipe in node.pipes)
    return "; ".join([*busy, f"{unread} bytes unread by in-process clients"])


class ConnectionSet:
    """Weak references to the connections a test made, in creation order."""

    def __init__(self) -> None:
        self._refs: list[weakref.ref[Any]] = []

    def add(self, connection: Any) -> Any:
        """Remember ``connection`` and return it."""
        self._refs.append(weakref.ref(connection))
        return connection

    def live(self) -> list[Any]:
        """The connections still alive."""
        return [c for c in (r() for r in self._refs) if c is not None]

    def close_all(self) -> None:
        """Close every live connection (errors are ignored: the broker may be gone)."""
        for conn in self.live():
            with contextlib.suppress(Exception):
                conn.close()
        self._refs.clear()
