"""Broker-wide faults: a restart, and resource alarms (sans-I/O).

Rules (RabbitMQ 3.10):
- a restart closes every connection with connection.close 320
  ``CONNECTION_FORCED - broker forced connection closure with reason
  'shutdown'`` (class 0, method 0) and resets the transport right after it,
  without waiting for close-ok (their unacked deliveries go back to their
  queues, redelivered); afterwards only
  durable exchanges and durable queues exist, and a durable queue keeps only
  its persistent messages (delivery_mode 2);
- a resource alarm blocks each connection at its next basic.publish: the
  engine stops reading it and sends connection.blocked (to clients with the
  ``connection.blocked`` capability); connections that only consume go on;
- when the last alarm clears, every connection gets an ``Unblocked`` event:
  blocked ones send connection.unblocked and resume reading.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._replies import SHUTDOWN_TEXT
from .events import Unblocked

if TYPE_CHECKING:
    from ._vhost import Vhost
    from .broker import Broker

__all__ = ["clear_alarm", "raise_alarm", "restart"]


def restart(broker: Broker) -> None:
    """Close every connection (320, then a reset), then keep only what a restart keeps."""
    for conn in list(broker.connections):
        conn.close_forced(SHUTDOWN_TEXT, reset=True)
    broker.alarms.clear()
    for vhost in broker.vhosts.values():
        broker.journal.record("fault", vhost.name, action="restart")
        _restart_vhost(vhost)


def _restart_vhost(vhost: Vhost) -> None:
    for queue in list(vhost.queues.values()):
        if queue.durable:
            queue.keep_persistent()
        else:
            vhost.delete_queue_object(queue, reason="restart")
    for exchange in list(vhost.exchanges.values()):
        if not exchange.durable and not exchange.deleted:
            vhost.drop_exchange(exchange)


def raise_alarm(broker: Broker, resource: str) -> None:
    """A ``resource`` alarm ("memory", "disk") goes into force."""
    broker.alarms.add(resource)
    for vhost in broker.vhosts:
        broker.journal.record("fault", vhost, action="alarm", resource=resource)


def clear_alarm(broker: Broker, resource: str | None) -> None:
    """Clear one alarm (every alarm when None); the last one unblocks every connection."""
    if not broker.alarms:
        return
    if resource is None:
        broker.alarms.clear()
    else:
        broker.alarms.discard(resource)
    if broker.alarms:
        return
    for conn in list(broker.connections):
        conn.emit(Unblocked())
