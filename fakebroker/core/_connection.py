"""A client connection as the core sees it: its channels, exclusive queues and outbox."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._channel import Channel
from ._replies import SHUTDOWN_TEXT
from .errors import AMQPConnectionError, ReplyCode
from .events import ConnectionClosed, ConnectionReset, Event

if TYPE_CHECKING:
    from ._queue import Queue
    from ._vhost import Vhost
    from .broker import Broker


class Connection:
    """One AMQP connection to a vhost."""

    def __init__(
        self,
        *,
        broker: Broker,
        vhost: Vhost,
        user: str,
        name: str,
        client_properties: Mapping[str, Any],
        capabilities: frozenset[str],
    ) -> None:
        self.broker = broker
        self.vhost = vhost
        self.user = user
        self.name = name
        self.client_properties = dict(client_properties)
        self.capabilities = capabilities
        self.channels: dict[int, Channel] = {}
        self.exclusive_queues: set[Queue] = set()
        self.outbox: deque[Event] = deque()
        self.wakeup: Callable[[], None] | None = None
        self.closed = False
        #: Set by a front whose socket buffer is full (see :meth:`pause_deliveries`).
        self.deliveries_paused = False
        #: When the connection opened (the broker clock's seconds).
        self.connected_at = broker.clock.now()

    def emit(self, event: Event) -> None:
        """Queue asynchronous output for the client."""
        outbox = self.outbox
        outbox.append(event)
        if len(outbox) == 1 and self.wakeup is not None:
            self.wakeup()

    def open_channel(self, number: int) -> Channel:
        """channel.open."""
        if number in self.channels:
            self.teardown()
            raise AMQPConnectionError(ReplyCode.CHANNEL_ERROR, "second 'channel.open' seen")
        channel = Channel(connection=self, number=number)
        self.channels[number] = channel
        return channel

    def pause_deliveries(self) -> None:
        """The client reads too slowly: hold deliveries in their queues (RabbitMQ's credit flow).

        A front calls this when its write buffer passes its high-water mark, so
        that what the server buffers for a slow reader stays bounded; messages
        stay ready in their queues for the connection's other consumers, or
        until :meth:`resume_deliveries`.
        """
        self.deliveries_paused = True
        for channel in self.channels.values():
            for consumer in channel.consumers.values():
                consumer.paused = True

    def resume_deliveries(self) -> None:
        """The socket drained: deliver again."""
        if not self.deliveries_paused:
            return
        self.deliveries_paused = False
        queues = []
        for channel in self.channels.values():
            for consumer in channel.consumers.values():
                consumer.paused = False
                queues.append(consumer.queue)
        for queue in dict.fromkeys(queues):
            if not queue.deleted:
                queue.dispatch()

    def close(self) -> None:
        """connection.close from the client, or the transport lost."""
        self.teardown()

    def close_forced(
        self,
        text: str = SHUTDOWN_TEXT,
        *,
        reset: bool = False,
    ) -> None:
        """Close from the broker's side: the client gets connection.close 320.

        ``reset``: the transport is reset right after the close frame instead
        of waiting for close-ok (as RabbitMQ does when it shuts down).
        """
        if self.closed:
            return
        self.teardown()
        error = AMQPConnectionError(ReplyCode.CONNECTION_FORCED, text)
        self.emit(ConnectionClosed(error, reset=reset))

    def reset(self) -> None:
        """Drop the connection as a TCP reset would: torn down now, the transport reset."""
        if self.closed:
            return
        self.teardown()
        self.emit(ConnectionReset())

    def teardown(self) -> None:
        """Close every channel (requeueing), delete exclusive queues, leave the broker."""
        if self.closed:
            return
        self.closed = True
        for channel in list(self.channels.values()):
            channel.teardown()
        for queue in list(self.exclusive_queues):
            self.vhost.delete_queue_object(queue, reason="owner_closed")
        self.exclusive_queues.clear()
        self.broker.connection_closed(self)

    def __repr__(self) -> str:
        return f"<Connection {self.name!r} vhost={self.vhost.name!r} user={self.user!r}>"


__all__ = ["Connection"]
