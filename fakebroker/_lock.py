"""One re-entrant lock per broker: every front serialises its calls into the core with it.

The core and the protocol engine are not thread-safe.  The TCP server's
event loop thread, in-process clients (:mod:`fakebroker.transport`) and
tests that poke the broker directly all take ``lock_for(broker)`` around
each call, so one broker can be shared by all of them at once.

``changed_for(broker)`` is a condition on that lock which the fronts notify
after they let a client change the broker (bytes handled, timers run, a
connection gone), so a thread can wait for broker state without polling.
"""

from __future__ import annotations

import threading
import weakref

__all__ = ["changed_for", "lock_for"]

_locks: weakref.WeakKeyDictionary[object, threading.RLock] = weakref.WeakKeyDictionary()
_changed: weakref.WeakKeyDictionary[object, threading.Condition] = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def lock_for(broker: object) -> threading.RLock:
    """Return the broker's lock, creating it on first use.

    The lock lives as long as the broker (it is weakly keyed on the broker
    object), and the same broker always gets the same lock.
    """
    with _guard:
        lock = _locks.get(broker)
        if lock is None:
            lock = _locks[broker] = threading.RLock()
        return lock


def changed_for(broker: object) -> threading.Condition:
    """The broker's "state changed" condition, on :func:`lock_for`'s lock.

    Fronts call ``notify_all()`` (holding the lock) after a client's input or
    a timer changed the broker; waiters re-check their predicate then.
    """
    lock = lock_for(broker)
    with _guard:
        cond = _changed.get(broker)
        if cond is None:
            cond = _changed[broker] = threading.Condition(lock)
        return cond
