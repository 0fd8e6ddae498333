"""A virtual host: its exchanges, queues and bindings, and routing between them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _replies as R
from ._args import (
    EXCHANGE_EQUIVALENCE_ARGS,
    QUEUE_TYPE_ARGS,
    check_args_equivalence,
    check_dlx_type,
    check_flag,
    parse_queue_args,
)
from ._deadletter import dead_letter_message, is_cycle
from ._exchange import Binding, Exchange
from ._queue import Queue
from ._routing import amqp_type, check_headers_binding, matcher_for
from ._store import Entry
from .message import DeclareOk, Message

if TYPE_CHECKING:
    from ._connection import Connection
    from .broker import Broker

PREDECLARED = (
    ("amq.direct", "direct"),
    ("amq.fanout", "fanout"),
    ("amq.topic", "topic"),
    ("amq.headers", "headers"),
    ("amq.match", "headers"),
)


class Vhost:
    """Exchanges, queues and bindings of one vhost."""

    def __init__(self, *, broker: Broker, name: str) -> None:
        self.broker = broker
        self.name = name
        self.exchanges: dict[str, Exchange] = {}
        self.queues: dict[str, Queue] = {}
        #: What the management API's PUT /api/vhosts/NAME sets beyond the name.
        self.description = ""
        self.tags: list[str] = []
        #: The firehose flag (stored and reported; nothing is published to amq.rabbitmq.trace).
        self.tracing = False
        #: message_stats of the vhost's channels (publish, confirm, *_unroutable).
        self.stats: Counter[str] = Counter()
        #: The counters of its deleted queues (core/stats.py adds the live queues' ones).
        self.retired: Counter[str] = Counter()
        self.default = self._add_exchange("", "direct", durable=True)
        for xname, xtype in PREDECLARED:
            self._add_exchange(xname, xtype, durable=True)

    def _add_exchange(
        self,
        name: str,
        type_: str,
        *,
        durable: bool,
        auto_delete: bool = False,
        internal: bool = False,
        arguments: dict[str, Any] | None = None,
    ) -> Exchange:
        exchange = Exchange(
            name=name,
            type=type_,
            durable=durable,
            auto_delete=auto_delete,
            internal=internal,
            arguments=arguments or {},
        )
        self.exchanges[name] = exchange
        return exchange

    # -- lookups ----------------------------------------------------------------------------

    def exchange(self, name: str) -> Exchange:
        """The exchange called ``name``, or 404."""
        exchange = self.exchanges.get(name)
        if exchange is None:
            raise R.not_found("exchange", name, self.name)
        return exchange

    def queue(self, name: str, conn: Connection | None) -> Queue:
        """The queue called ``name`` usable from ``conn``, or 404 / 405."""
        queue = self.find_queue(name)
        self.check_exclusive(queue, conn)
        return queue

    def find_queue(self, name: str) -> Queue:
        """The queue called ``name``, or 404 (whoever may use it)."""
        queue = self.queues.get(name)
        if queue is None:
            raise R.not_found("queue", name, self.name)
        return queue

    def check_exclusive(self, queue: Queue, conn: Connection | None) -> None:
        """405 when ``queue`` is exclusive to another connection."""
        owner = queue.exclusive_owner
        if owner is not None and owner is not conn:
            raise R.resource_locked(queue.name, self.name)

    # -- exchanges --------------------------------------------------------------------------

    def declare_exchange(
        self,
        name: str,
        type_: str,
        *,
        passive: bool,
        durable: bool,
        auto_delete: bool,
        internal: bool,
        arguments: dict[str, Any],
    ) -> None:
        """exchange.declare."""
        if passive:
            if name == "":
                raise R.default_exchange_op()
            self.exchange(name)
            return
        if matcher_for(type_) is None:  # RabbitMQ checks the type first, even for ""
            raise R.invalid_exchange_type(type_)
        if name == "":
            raise R.default_exchange_op()
        current = self.exchanges.get(name)
        if current is None and name.startswith("amq."):
            raise R.reserved_prefix("exchange", name, self.name)
        alternate = arguments.get("alternate-exchange")
        if current is None and alternate is not None and not isinstance(alternate, (str, bytes)):
            raise R.invalid_arg(
                f"invalid type '{amqp_type(alternate)}' for arg 'alternate-exchange' "
                f"in exchange '{name}' in vhost '{self.name}'"
            )
        if current is None:
            self._add_exchange(
                name,
                type_,
                durable=durable,
                auto_delete=auto_delete,
                internal=internal,
                arguments=arguments,
            )
            return
        kind, vh = "exchange", self.name
        if current.type != type_:
            raise R.inequivalent("type", kind, name, vh, f"'{type_}'", f"'{current.type}'")
        check_flag(kind, name, vh, "durable", current.durable, durable)
        check_flag(kind, name, vh, "auto_delete", current.auto_delete, auto_delete)
        check_flag(kind, name, vh, "internal", current.internal, internal)
        check_args_equivalence(
            kind, name, vh, current.arguments, arguments, EXCHANGE_EQUIVALENCE_ARGS
        )

    def delete_exchange(self, name: str, *, if_unused: bool) -> None:
        """exchange.delete (succeeds when it does not exist)."""
        if name == "":
            raise R.default_exchange_op()
        if name.startswith("amq."):
            raise R.system_exchange(name, self.name)
        exchange = self.exchanges.get(name)
        if exchange is None:
            return
        if if_unused and exchange.bindings:
            raise R.in_use("exchange", name, self.name)
        self.drop_exchange(exchange)

    def drop_exchange(self, exchange: Exchange) -> None:
        """Remove ``exchange`` and every binding from or to it (no checks)."""
        exchange.deleted = True
        self.exchanges.pop(exchange.name, None)
        for binding in list(exchange.bindings.values()):
            self._remove_binding(binding)
        for binding in list(exchange.incoming):
            self._remove_binding(binding)

    # -- bindings ---------------------------------------------------------------------------

    def bind(
        self,
        source: str,
        destination: Queue | Exchange,
        routing_key: str,
        arguments: dict[str, Any],
        *,
        conn: Connection | None = None,
    ) -> None:
        """queue.bind / exchange.bind (``conn`` binds a queue: 405 if another's exclusive one).

        RabbitMQ looks both ends up (404), then validates the binding's
        arguments, and only then checks the queue's exclusivity.
        """
        if source == "":
            raise R.default_exchange_op()
        exchange = self.exchange(source)
        if exchange.type == "headers":
            problem = check_headers_binding(arguments)
            if problem is not None:
                raise R.invalid_arg(problem)
        if isinstance(destination, Queue):
            self.check_exclusive(destination, conn)
        binding = Binding(exchange, destination, routing_key, arguments)
        if exchange.add_binding(binding):
            destination_bindings(destination).add(binding)

    def unbind(
        self,
        source: str,
        destination: Queue | Exchange,
        routing_key: str,
        arguments: Mapping[str, Any],
        *,
        conn: Connection | None = None,
    ) -> None:
        """queue.unbind / exchange.unbind (succeeds when not bound).

        Removing a binding that exists to another connection's exclusive queue
        is 405, as RabbitMQ checks exclusivity only once it found the binding.
        """
        if source == "":
            raise R.default_exchange_op()
        exchange = self.exchanges.get(source)
        if exchange is None:
            return
        binding = exchange.find_binding(destination, routing_key, arguments)
        if binding is not None:
            if isinstance(destination, Queue):
                self.check_exclusive(destination, conn)
            self._remove_binding(binding)

    def _remove_binding(self, binding: Binding) -> None:
        source = binding.source
        source.remove_binding(binding)
        destination_bindings(binding.destination).discard(binding)
        if source.auto_delete and not source.bindings and not source.deleted:
            self.drop_exchange(source)

    # -- queues -----------------------------------------------------------------------------

    def declare_queue(
        self,
        conn: Connection | None,
        name: str,
        *,
        passive: bool,
        durable: bool,
        exclusive: bool,
        auto_delete: bool,
        arguments: dict[str, Any],
        generated: bool = False,
    ) -> DeclareOk:
        """queue.declare (``name`` already resolved: never empty here)."""
        if passive:
            queue = self.queue(name, conn)
            queue.touch()  # even a passive declare restarts x-expires, as RabbitMQ does
            return DeclareOk(name, queue.message_count, queue.consumer_count)
        if name.startswith("amq.") and not generated:  # even a server-named one that exists
            raise R.reserved_prefix("queue", name, self.name)
        durable = durable and not exclusive  # RabbitMQ: an exclusive queue is never durable
        current = self.queues.get(name)
        if current is not None:
            self._check_redeclare(current, conn, durable, exclusive, auto_delete, arguments)
            current.touch()
            return DeclareOk(name, current.message_count, current.consumer_count)
        check_dlx_type(name, self.name, arguments)  # RabbitMQ's channel, before the queue type
        args = parse_queue_args(name, self.name, arguments)
        self._check_queue_type(name, args.queue_type, durable, exclusive, auto_delete)
        queue = Queue(
            vhost=self,
            name=name,
            durable=durable,
            exclusive_owner=conn if exclusive else None,
            auto_delete=auto_delete,
            arguments=arguments,
            args=args,
        )
        self.queues[name] = queue
        if exclusive and conn is not None:
            conn.exclusive_queues.add(queue)
        return DeclareOk(name, 0, 0)

    def _check_redeclare(
        self,
        queue: Queue,
        conn: Connection | None,
        durable: bool,
        exclusive: bool,
        auto_delete: bool,
        arguments: dict[str, Any],
    ) -> None:
        self.check_exclusive(queue, conn)
        if exclusive != queue.exclusive:
            raise R.resource_locked(queue.name, self.name)
        kind, vh, name = "queue", self.name, queue.name
        check_flag(kind, name, vh, "durable", queue.durable, durable)
        check_flag(kind, name, vh, "auto_delete", queue.auto_delete, auto_delete)
        keys = QUEUE_TYPE_ARGS[queue.args.queue_type]  # what the queue's own type compares
        check_args_equivalence(kind, name, vh, queue.arguments, arguments, keys, _DEFAULT_TYPE)

    def _check_queue_type(
        self, name: str, queue_type: str, durable: bool, exclusive: bool, auto_delete: bool
    ) -> None:
        if queue_type == "quorum":
            for flag, value in (
                ("auto-delete", auto_delete),
                ("exclusive-owner", exclusive),
                ("non-durable", not durable),
            ):
                if value:
                    raise R.invalid_property(flag, name, self.name)

    def delete_queue(
        self, conn: Connection | None, name: str, *, if_unused: bool, if_empty: bool
    ) -> int:
        """queue.delete; returns the ready count (0 when it does not exist)."""
        queue = self.queues.get(name)
        if queue is None:
            return 0
        self.check_exclusive(queue, conn)
        # RabbitMQ's queue process asks "empty?" (ready messages only) before "unused?"
        if if_empty and queue.message_count:
            raise R.not_empty(name, self.name)
        if if_unused and queue.consumers:
            raise R.in_use("queue", name, self.name)
        return self.delete_queue_object(queue, reason="deleted")

    def delete_queue_object(self, queue: Queue, *, reason: str) -> int:
        """Remove a queue: cancel its consumers, drop its bindings and messages."""
        if queue.deleted:
            return 0
        self.queues.pop(queue.name, None)
        for consumer in list(queue.consumers):
            consumer.channel.cancel_by_server(consumer)
        queue.consumers.clear()
        for binding in list(queue.bindings):
            self._remove_binding(binding)
        owner = queue.exclusive_owner
        if owner is not None:
            owner.exclusive_queues.discard(queue)
        count = len(queue.store)
        self.retired.update(queue.stats)
        journal = self.broker.journal
        for entry in queue.destroy():
            journal.record("deleted", self.name, queue=queue.name, msg=entry.msg, reason=reason)
        return count

    # -- routing ----------------------------------------------------------------------------

    def route(
        self,
        exchange: Exchange,
        routing_key: str,
        headers: Mapping[str, Any] | None,
        extra_keys: tuple[str, ...] = (),
    ) -> list[Queue]:
        """Every queue a message published to ``exchange`` reaches, each once.

        ``extra_keys`` are the sender-selected routing keys (CC and BCC
        headers): the message is routed with all its keys at once, so an
        alternate exchange is used only when none of them routes.
        """
        if extra_keys:
            keys = (routing_key, *extra_keys)
            direct = self._direct_all(exchange, keys, headers)
        elif exchange is self.default:
            queue = self.queues.get(routing_key)
            return [queue] if queue is not None else []
        else:
            keys = (routing_key,)
            direct = exchange.route(routing_key, headers)
        if not exchange.has_exchange_bindings and direct:
            return direct
        return self._walk(exchange, keys, headers, direct)

    def _direct_all(
        self, exchange: Exchange, keys: tuple[str, ...], headers: Mapping[str, Any] | None
    ) -> list[Any]:
        if len(keys) == 1:
            return self._direct(exchange, keys[0], headers)
        found: dict[Any, None] = {}
        for key in keys:
            found.update(dict.fromkeys(self._direct(exchange, key, headers)))
        return list(found)

    def _walk(
        self,
        start: Exchange,
        keys: tuple[str, ...],
        headers: Mapping[str, Any] | None,
        first: list[Any],
    ) -> list[Queue]:
        found: dict[Queue, None] = {}
        seen = {start}
        work: list[tuple[Exchange, list[Any]]] = [(start, first)]
        while work:
            exchange, dests = work.pop(0)
            if not dests and exchange.alternate is not None:
                alternate = self.exchanges.get(exchange.alternate)
                dests = [alternate] if alternate is not None else []
            for dest in dests:
                if isinstance(dest, Exchange):
                    if dest not in seen:
                        seen.add(dest)
                        work.append((dest, self._direct_all(dest, keys, headers)))
                else:
                    found[dest] = None
        return list(found)

    def _direct(
        self, exchange: Exchange, routing_key: str, headers: Mapping[str, Any] | None
    ) -> list[Any]:
        if exchange is self.default:
            queue = self.queues.get(routing_key)
            return [queue] if queue is not None else []
        return exchange.route(routing_key, headers)

    # -- dead-lettering ---------------------------------------------------------------------

    def dead_letter(self, queue: Queue, entry: Entry, reason: str) -> None:
        """Dead-letter (or drop) a message leaving ``queue`` for ``reason``."""
        self.dead_letter_message(queue, entry.msg, reason)

    def dead_letter_message(
        self, queue: Queue, msg: Message, reason: str, *, enqueued: bool = True
    ) -> None:
        """Republish ``msg`` to the queue's dead-letter exchange, if it has a live one.

        ``enqueued=False`` for a publish refused by reject-publish-dlx: the
        message never was in ``queue``.
        """
        broker = self.broker
        dlx_name = queue.args.dlx
        exchange = self.exchanges.get(dlx_name) if dlx_name is not None else None
        kind = "expired" if reason == "expired" else "dropped"
        if exchange is None:
            broker.journal.record(
                kind, self.name, queue=queue.name, msg=msg, reason=reason, enqueued=enqueued
            )
            return
        routing_key = queue.args.dlrk if queue.args.dlrk is not None else msg.routing_key
        new = dead_letter_message(
            msg,
            queue=queue.name,
            reason=reason,
            now=broker.clock.now(),
            new_id=broker.next_message_id(),
            exchange=exchange.name,
            routing_key=routing_key,
        )
        broker.journal.record(
            "dead-lettered",
            self.name,
            exchange=exchange.name,
            routing_key=routing_key,
            queue=queue.name,
            msg=new,
            reason=reason,
            original=msg,
            enqueued=enqueued,
        )
        targets = self.route(exchange, routing_key, new.headers)
        deaths = new.headers["x-death"]
        for target in targets:
            if reason != "rejected" and is_cycle(target.name, deaths):
                broker.journal.record(
                    "dropped", self.name, queue=target.name, msg=new, reason="cycle", enqueued=False
                )
                continue
            target.enqueue(new)


_DEFAULT_TYPE = {"x-queue-type": "classic"}
"""How RabbitMQ compares a queue declared without ``x-queue-type``."""


def destination_bindings(destination: Queue | Exchange) -> set[Binding]:
    """The set of bindings that point at ``destination``."""
    if isinstance(destination, Exchange):
        return destination.incoming
    return destination.bindings
