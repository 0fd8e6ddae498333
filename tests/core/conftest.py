from __future__ import annotations

from collections.abc import Callable

import pytest

from fakebroker.core import Broker, Channel, Connection, VirtualClock
from fakebroker.core.events import Deliver, Event


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def broker(clock: VirtualClock) -> Broker:
    return Broker(clock=clock)


@pytest.fixture
def conn(broker: Broker) -> Connection:
    return broker.connect(name="c1", capabilities=frozenset({"consumer_cancel_notify"}))


@pytest.fixture
def ch(conn: Connection) -> Channel:
    return conn.open_channel(1)


def drain(conn: Connection, kind: type[Event] | None = None) -> list[Event]:
    """Pop every event from the outbox (only those of ``kind`` are returned)."""
    events = list(conn.outbox)
    conn.outbox.clear()
    return [e for e in events if kind is None or isinstance(e, kind)]


def bodies(conn: Connection) -> list[bytes]:
    """Bodies of the deliveries waiting in the outbox (drains it)."""
    return [e.message.body for e in drain(conn, Deliver)]  # type: ignore[union-attr]


Publish = Callable[..., None]
