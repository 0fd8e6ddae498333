"""``app.amqp``: queues, exchanges, the producer pool and ``send_task_message``."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from . import signals
from ._config import Config
from ._kombu import Connection, KombuConnection, KombuProducer, KombuQueue, ProducerPool
from ._protocol import TaskMessage
from ._routing import Queues, Router

__all__ = ["AMQP"]


class AMQP:
    """The app's view of the broker (Celery's ``app.amqp``).

    The connection pool and the producer pool are created on first use and
    shared by every thread: a send acquires a producer (with its connection)
    and gives it back, so connections are reused rather than opened per send.
    """

    def __init__(self, *, conf: Config) -> None:
        self.conf = conf
        self.queues = Queues(conf=conf)
        self.router = Router(conf=conf, queues=self.queues)
        self._lock = threading.Lock()
        self._connection_pool: Any = None
        self._producer_pool: Any = None

    @property
    def default_queue(self) -> KombuQueue:
        """The queue tasks go to when nothing else routes them."""
        return self.queues.default

    @property
    def default_exchange(self) -> Any:
        """The exchange of the default queue."""
        return self.queues.default_exchange

    def connection(self) -> KombuConnection:
        """A new (lazily connecting) connection to the broker."""
        return Connection(
            self.conf.broker_url, transport_options=dict(self.conf.broker_transport_options)
        )

    @property
    def connection_pool(self) -> Any:
        """Pool of write connections, at most ``broker_pool_limit``."""
        with self._lock:
            if self._connection_pool is None:
                pool = self.connection().Pool(limit=self.conf.broker_pool_limit)
                self._connection_pool = pool
            return self._connection_pool

    @property
    def producer_pool(self) -> Any:
        """Pool of kombu producers over :attr:`connection_pool`."""
        connections = self.connection_pool
        with self._lock:
            if self._producer_pool is None:
                self._producer_pool = ProducerPool(connections, limit=self.conf.broker_pool_limit)
            return self._producer_pool

    def declare(self, connection: KombuConnection) -> list[str]:
        """Declare the configured queues (with their exchanges and bindings).

        Returns the names of the queues declared.
        """
        channel = connection.default_channel
        queues = self.queues.configured()
        for queue in queues:
            queue(channel).declare()
        return [queue.name for queue in queues]

    def send_task_message(
        self,
        producer: KombuProducer,
        name: str,
        message: TaskMessage,
        exchange: Any = None,
        routing_key: str | None = None,
        queue: Any = None,
        serializer: str | None = None,
        compression: str | None = None,
        declare: Sequence[Any] | None = None,
        retry: bool | None = None,
        retry_policy: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        **properties: Any,
    ) -> None:
        """Publish a task message, sending ``before_publish``/``after_publish``/``task_sent``.

        The destination is ``exchange``/``routing_key`` when given, else the
        queue's (``queue`` may be a name), else the default queue's. The
        queue is declared (once per connection) unless ``declare`` is given.
        """
        if isinstance(queue, str):
            queue = self.queues.get(queue)
        if queue is None and exchange is None:
            queue = self.default_queue
        if exchange is None:
            exchange = queue.exchange.name if queue is not None and queue.exchange else ""
        if routing_key is None:
            routing_key = queue.routing_key if queue is not None else ""
        if declare is None:
            declare = [queue] if queue is not None else []
        exchange_name = exchange if isinstance(exchange, str) else exchange.name
        all_headers = {**message.headers, **(headers or {})}
        props = {**message.properties, **{k: v for k, v in properties.items() if v is not None}}
        retry = self.conf.task_publish_retry if retry is None else retry
        policy = dict(retry_policy or self.conf.task_publish_retry_policy)
        signals.before_publish.send(
            name,
            body=message.body,
            exchange=exchange_name,
            routing_key=routing_key,
            headers=all_headers,
            properties=props,
            declare=declare,
            retry_policy=policy,
        )
        producer.publish(
            message.body,
            exchange=exchange_name,
            routing_key=routing_key,
            serializer=serializer or self.conf.task_serializer,
            compression=compression or self.conf.task_compression,
            retry=retry,
            retry_policy=policy,
            declare=declare,
            headers=all_headers,
            **props,
        )
        signals.after_publish.send(
            name,
            body=message.body,
            exchange=exchange_name,
            routing_key=routing_key,
            headers=all_headers,
        )
        self._task_sent(name, message, queue)

    def _task_sent(self, name: str, message: TaskMessage, queue: KombuQueue | None) -> None:
        args, kwargs, _ = message.body
        signals.task_sent.send(
            name,
            task_id=message.headers["id"],
            task=name,
            args=args,
            kwargs=kwargs,
            eta=message.headers["eta"],
            expires=message.headers["expires"],
            queue=queue.name if queue is not None else None,
        )

    def close(self) -> None:
        """Close the pools (and their connections)."""
        with self._lock:
            producers, connections = self._producer_pool, self._connection_pool
            self._producer_pool = self._connection_pool = None
        if producers is not None:
            producers.force_close_all()
        if connections is not None:
            connections.force_close_all()
