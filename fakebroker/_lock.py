"""One re-entrant lock per broker: every front serialises its calls into the core with it.

The core and the protocol engine are not thread-safe.  The TCP server's
event loop thread, in-process clients (:mod:`fakebroker.transport`) and
tests that poke the broker directly all take ``lock_for(broker)`` around
each call, so one broker can be shared by all of them at once.
"""

from __future__ import annotations

import threading
import weakref

__all__ = ["lock_for"]

_locks: weakref.WeakKeyDictionary[object, threading.RLock] = weakref.WeakKeyDictionary()
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
