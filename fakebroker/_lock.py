"""Transitional: the lock of a broker's node, for code that has only the broker.

:class:`fakebroker.Node` owns each broker's lock and calls :func:`adopt`;
``fakebroker.faults`` still looks the lock up here until it is handed the
lock directly.  A broker that has no node gets a lock of its own.
"""

from __future__ import annotations

import threading
import weakref

__all__ = ["adopt", "changed_for", "lock_for"]

_locks: weakref.WeakKeyDictionary[object, tuple[threading.RLock, threading.Condition]] = (
    weakref.WeakKeyDictionary()
)
_guard = threading.Lock()


def adopt(broker: object, lock: threading.RLock, changed: threading.Condition) -> None:
    """Make ``lock`` (and its condition) the broker's."""
    with _guard:
        _locks[broker] = (lock, changed)


def _pair(broker: object) -> tuple[threading.RLock, threading.Condition]:
    with _guard:
        pair = _locks.get(broker)
        if pair is None:
            lock = threading.RLock()
            pair = _locks[broker] = (lock, threading.Condition(lock))
        return pair


def lock_for(broker: object) -> threading.RLock:
    """The broker's lock."""
    return _pair(broker)[0]


def changed_for(broker: object) -> threading.Condition:
    """The broker's "state changed" condition, on :func:`lock_for`'s lock."""
    return _pair(broker)[1]
