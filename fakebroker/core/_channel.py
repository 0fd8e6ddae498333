"""A channel: consumers, delivery tags, acks, qos, confirms and transactions.

Rules (RabbitMQ 3.10):
- delivery tags count from 1 per channel, for deliveries and basic.get alike;
- an unknown or already settled tag closes the channel with 406; ``multiple``
  with tag 0 settles everything outstanding;
- basic.qos global=false sets the limit of consumers created afterwards,
  global=true limits the whole channel; no_ack consumers ignore both;
- closing the channel (or its connection) requeues every unacked message;
- confirm and tx modes exclude each other; in tx mode publishes and acks wait
  for tx.commit and vanish on tx.rollback;
- an error raised by a method closes the channel (or the connection) in the
  core before it reaches the engine.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from . import _replies as R
from ._args import check_consumer_args, check_expiration
from ._queue import Consumer, Queue
from ._replyto import REPLY_PREFIX, REPLY_QUEUE
from ._routing import matcher_for
from ._sender import sender_selected
from ._store import Entry
from ._tx import TxPublish, TxSettlement
from ._users import PERMISSION_CACHE_SIZE
from .errors import AMQPError, Scope
from .events import ChannelClosed, ConfirmAck, ConfirmNack, ConsumerCancelled, Deliver, Return
from .message import MAX_MESSAGE_SIZE_CAP, DeclareOk, GetOk, Message, Properties

if TYPE_CHECKING:
    from ._connection import Connection
    from ._exchange import Exchange
    from .clock import Timer

P = ParamSpec("P")
T = TypeVar("T")


def _closes_on_error(method: Callable[P, T]) -> Callable[P, T]:
    """Tear the channel (or connection) down in the core when the method fails."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except AMQPError as error:
            channel = args[0]
            assert isinstance(channel, Channel)
            channel.fail(error)
            raise

    return wrapper


class Pending:
    """A delivery waiting for its ack."""

    __slots__ = ("consumer", "delivered_at", "entry", "queue")

    def __init__(
        self, entry: Entry, queue: Queue, consumer: Consumer | None, delivered_at: float
    ) -> None:
        self.entry = entry
        self.queue = queue
        self.consumer = consumer
        self.delivered_at = delivered_at


class Channel:
    """One open channel of a connection."""

    def __init__(self, *, connection: Connection, number: int) -> None:
        self.conn = connection
        self.number = number
        self.vhost = connection.vhost
        self.broker = connection.broker
        self.next_tag = 1
        self.unacked: dict[int, Pending] = {}
        self.consumers: dict[str, Consumer] = {}
        self.consumer_unacked = 0
        self.prefetch = 0
        self.global_prefetch = 0
        self.reply_key: str | None = None
        self.reply_tag: str | None = None
        self.confirm = False
        self.publish_seq = 0
        self.tx = False
        self._tx_publishes: list[TxPublish] = []
        self._tx_acks: list[TxSettlement] = []
        self.closed = False
        self.last_queue: str | None = None
        #: Topic checks this channel passed, newest first (rabbit_channel's topic_permission_cache).
        self._topic_cache: list[tuple[str, str, str]] = []
        self._timeout_timer: Timer | None = None
        self.opened_at = self.broker.clock.now()

    # -- errors and closing -----------------------------------------------------------------

    def fail(self, error: AMQPError) -> None:
        """Tear down what ``error`` closes."""
        if error.scope is Scope.CONNECTION:
            self.conn.teardown()
        else:
            self.teardown()

    def close(self) -> None:
        """channel.close from the client."""
        self.teardown()

    def teardown(self) -> None:
        """Cancel consumers, requeue unacked messages, forget the channel."""
        if self.closed:
            return
        self.closed = True
        if self._timeout_timer is not None:
            self._timeout_timer.cancel()
            self._timeout_timer = None
        self.conn.channels.pop(self.number, None)
        self.broker.reply_to.unsubscribe(self)
        pending = list(self.unacked.values()) + [s.pending for s in self._tx_acks]
        self.unacked.clear()
        self._tx_acks.clear()
        self._tx_publishes.clear()
        queues = []
        for consumer in list(self.consumers.values()):
            queues.append(consumer.queue)
            consumer.queue.remove_consumer(consumer, dispatch=False)
        self.consumers.clear()
        # RabbitMQ requeues the channel's unacked messages before the queue
        # delivers to its other consumers, so they get the requeued ones first.
        for item in sorted(pending, key=lambda p: p.entry.seq):
            item.queue.requeue(item.entry)
        for queue in queues:
            if queue.consumers and not queue.deleted:
                queue.dispatch()

    @property
    def uncommitted(self) -> tuple[int, int]:
        """(publishes, acks) held by an open transaction, as the management API counts them."""
        return len(self._tx_publishes), len(self._tx_acks)

    def unacked_bytes(self) -> int:
        """Body bytes of the messages delivered on this channel and not yet settled."""
        return sum(len(p.entry.msg.body) for p in self.unacked.values())

    def _close_by_server(self, error: AMQPError) -> None:
        self.teardown()
        self.conn.emit(ChannelClosed(self.number, error))

    # -- names ------------------------------------------------------------------------------

    def _queue_name(self, name: str) -> str:
        if name:
            return name
        if self.last_queue is None:
            raise R.no_previous_queue()
        return self.last_queue

    def _queue(self, name: str) -> Queue:
        return self.vhost.queue(self._queue_name(name), self.conn)

    def _may(self, access: str, kind: str, name: str) -> None:
        """RabbitMQ's permission check for this channel's user (403 ACCESS_REFUSED)."""
        self.broker.check_access(self.conn.user, self.vhost.name, access, kind, name)

    def _may_topic(self, exchange: Exchange, access: str, routing_key: str) -> None:
        """RabbitMQ's topic permission check (topic exchanges only; passes are cached)."""
        if exchange.type != "topic":
            return
        key = (exchange.name, routing_key, access)
        if key in self._topic_cache:  # as RabbitMQ, a pass holds for the channel's life
            return
        user = self.conn.user
        self.broker.check_topic_access(user, self.vhost.name, exchange.name, access, routing_key)
        self._topic_cache = [key, *self._topic_cache[: PERMISSION_CACHE_SIZE - 1]]

    def _may_topic_if_exists(self, exchange: str, routing_key: str) -> None:
        """The read check of an unbind: only when the source exchange exists (as RabbitMQ)."""
        source = self.vhost.exchanges.get(exchange)
        if source is not None:
            self._may_topic(source, "read", routing_key)

    # -- exchanges --------------------------------------------------------------------------

    @_closes_on_error
    def exchange_declare(
        self,
        exchange: str,
        type: str = "direct",
        passive: bool = False,
        durable: bool = False,
        auto_delete: bool = False,
        internal: bool = False,
        arguments: dict[str, Any] | None = None,
    ) -> None:
        """exchange.declare."""
        if not passive and exchange and matcher_for(type) is not None:
            self._may("configure", "exchange", exchange)
            alternate = (arguments or {}).get("alternate-exchange")
            new = exchange not in self.vhost.exchanges and not exchange.startswith("amq.")
            if new and isinstance(alternate, str):
                self._may("read", "exchange", exchange)
                self._may("write", "exchange", alternate)
        self.vhost.declare_exchange(
            exchange,
            type,
            passive=passive,
            durable=durable,
            auto_delete=auto_delete,
            internal=internal,
            arguments=dict(arguments or {}),
        )

    @_closes_on_error
    def exchange_delete(self, exchange: str, if_unused: bool = False) -> None:
        """exchange.delete."""
        if exchange and not exchange.startswith("amq."):
            self._may("configure", "exchange", exchange)
        self.vhost.delete_exchange(exchange, if_unused=if_unused)

    @_closes_on_error
    def exchange_bind(
        self,
        destination: str,
        source: str,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
    ) -> None:
        """exchange.bind."""
        self._may("write", "exchange", destination)
        if destination and source:
            self._may("read", "exchange", source)
        if destination == "" or source == "":
            raise R.default_exchange_op()
        # RabbitMQ names a missing source before the destination
        self._may_topic(self.vhost.exchange(source), "read", routing_key)
        dest = self.vhost.exchange(destination)
        self.vhost.bind(source, dest, routing_key, dict(arguments or {}))

    @_closes_on_error
    def exchange_unbind(
        self,
        destination: str,
        source: str,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
    ) -> None:
        """exchange.unbind."""
        self._may("write", "exchange", destination)
        if destination and source:
            self._may("read", "exchange", source)
        if destination == "" or source == "":  # refused even when the other side is missing
            raise R.default_exchange_op()
        self._may_topic_if_exists(source, routing_key)
        dest = self.vhost.exchanges.get(destination)
        if dest is not None:
            self.vhost.unbind(source, dest, routing_key, arguments or {})

    # -- queues -----------------------------------------------------------------------------

    @_closes_on_error
    def queue_declare(
        self,
        queue: str = "",
        passive: bool = False,
        durable: bool = False,
        exclusive: bool = False,
        auto_delete: bool = False,
        arguments: dict[str, Any] | None = None,
    ) -> DeclareOk:
        """queue.declare."""
        if queue == REPLY_QUEUE:
            return DeclareOk(REPLY_QUEUE, 0, 1)
        generated = not queue and not passive
        if generated and (arguments or {}).get("x-queue-type") == "quorum":
            raise R.server_named_quorum()
        if not queue:
            queue = self._queue_name("") if passive else self.broker.generate_name("amq.gen-")
        if not passive and (generated or not queue.startswith("amq.")):
            self._check_declare(queue, arguments or {})
        ok = self.vhost.declare_queue(
            self.conn,
            queue,
            passive=passive,
            durable=durable,
            exclusive=exclusive,
            auto_delete=auto_delete,
            arguments=dict(arguments or {}),
            generated=generated,
        )
        self.last_queue = ok.queue
        return ok

    def _check_declare(self, queue: str, arguments: dict[str, Any]) -> None:
        self._may("configure", "queue", queue)
        dlx = arguments.get("x-dead-letter-exchange")
        if queue not in self.vhost.queues and isinstance(dlx, str):
            self._may("read", "queue", queue)
            self._may("write", "exchange", dlx)

    @_closes_on_error
    def queue_bind(
        self,
        queue: str,
        exchange: str,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
    ) -> None:
        """queue.bind."""
        if not routing_key and not queue:
            routing_key = self._queue_name("")
        self._may("write", "queue", self._queue_name(queue))
        if exchange:
            self._may("read", "exchange", exchange)
        if exchange == "":
            raise R.default_exchange_op()
        # RabbitMQ names a missing exchange before the queue
        self._may_topic(self.vhost.exchange(exchange), "read", routing_key)
        target = self.vhost.find_queue(self._queue_name(queue))  # exclusivity: after the args
        self.vhost.bind(exchange, target, routing_key, dict(arguments or {}), conn=self.conn)

    @_closes_on_error
    def queue_unbind(
        self,
        queue: str,
        exchange: str,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
    ) -> None:
        """queue.unbind."""
        name = self._queue_name(queue)
        self._may("write", "queue", name)
        if exchange == "":  # refused before anything else, even for a missing queue
            raise R.default_exchange_op()
        self._may("read", "exchange", exchange)
        self._may_topic_if_exists(exchange, routing_key)
        target = self.vhost.queues.get(name)
        if target is None:
            return
        self.vhost.unbind(exchange, target, routing_key, arguments or {}, conn=self.conn)

    @_closes_on_error
    def queue_purge(self, queue: str) -> int:
        """queue.purge: how many ready messages were removed."""
        self._may("read", "queue", self._queue_name(queue))
        return self._queue(queue).purge()

    @_closes_on_error
    def queue_delete(self, queue: str, if_unused: bool = False, if_empty: bool = False) -> int:
        """queue.delete: how many ready messages went with it."""
        self._may("configure", "queue", self._queue_name(queue))
        return self.vhost.delete_queue(
            self.conn, self._queue_name(queue), if_unused=if_unused, if_empty=if_empty
        )

    # -- consuming --------------------------------------------------------------------------

    @_closes_on_error
    def basic_qos(
        self, prefetch_size: int = 0, prefetch_count: int = 0, global_: bool = False
    ) -> None:
        """basic.qos."""
        if prefetch_size:
            raise R.prefetch_size(prefetch_size)
        if global_:
            self.global_prefetch = prefetch_count
        else:
            # RabbitMQ 3.10: for consumers made from now on; and it lifts the channel's limit
            self.prefetch = prefetch_count
            self.global_prefetch = 0
        for consumer in list(self.consumers.values()):
            consumer.queue.dispatch()

    @_closes_on_error
    def basic_consume(
        self,
        queue: str,
        consumer_tag: str = "",
        no_local: bool = False,
        no_ack: bool = False,
        exclusive: bool = False,
        arguments: dict[str, Any] | None = None,
    ) -> str:
        """basic.consume: the consumer tag (generated when empty)."""
        if queue == REPLY_QUEUE:
            return self.broker.reply_to.subscribe(self, consumer_tag, no_ack)
        tag = consumer_tag or self.broker.generate_name("amq.ctag-")
        if tag in self.consumers:  # before the queue is looked up, as RabbitMQ's channel does
            raise R.reused_consumer_tag(tag)
        self._may("read", "queue", self._queue_name(queue))
        target = self._queue(queue)
        check_consumer_args(target.name, self.vhost.name, arguments or {})
        if (exclusive and target.consumers) or any(c.exclusive for c in target.consumers):
            raise R.exclusive_consume_refused(target.name, self.vhost.name)
        consumer = Consumer(
            tag=tag,
            channel=self,
            queue=target,
            no_ack=no_ack,
            exclusive=exclusive,
            prefetch=self.prefetch,
            arguments=dict(arguments or {}),
        )
        self.consumers[tag] = consumer
        target.add_consumer(consumer)
        return tag

    @_closes_on_error
    def basic_cancel(self, consumer_tag: str) -> None:
        """basic.cancel (an unknown tag is fine)."""
        if consumer_tag == self.reply_tag:
            self.broker.reply_to.unsubscribe(self)
            return
        consumer = self.consumers.pop(consumer_tag, None)
        if consumer is not None:
            consumer.queue.remove_consumer(consumer)

    def cancel_by_server(self, consumer: Consumer) -> None:
        """The queue went away: forget the consumer and tell the client."""
        if self.consumers.pop(consumer.tag, None) is not None:
            self.conn.emit(ConsumerCancelled(self.number, consumer.tag))

    def deliver(self, consumer: Consumer, entry: Entry, queue: Queue) -> None:
        """Hand ``entry`` to ``consumer`` (called by the queue)."""
        tag = self.next_tag
        self.next_tag = tag + 1
        msg = entry.msg
        if not consumer.no_ack:
            self.unacked[tag] = Pending(entry, queue, consumer, self.broker.clock.now())
            consumer.unacked += 1
            self.consumer_unacked += 1
            queue.unacked += 1
            if self._timeout_timer is None:
                self._arm_timeout()
        stats = queue.stats
        stats["deliver_no_ack" if consumer.no_ack else "deliver"] += 1
        if entry.redelivered:
            stats["redeliver"] += 1
        journal = self.broker.journal
        if journal.enabled:
            journal.record(
                "delivered",
                self.vhost.name,
                queue=queue.name,
                msg=msg,
                consumer_tag=consumer.tag,
                no_ack=consumer.no_ack,
                redelivered=entry.redelivered,
            )
        self.conn.emit(
            Deliver(
                self.number,
                consumer.tag,
                tag,
                entry.redelivered,
                msg.exchange,
                msg.routing_key,
                _with_delivery_count(entry) if queue.quorum else msg,
            )
        )

    def deliver_reply(self, msg: Message) -> None:
        """A direct reply-to message for this channel's reply consumer."""
        tag = self.next_tag
        self.next_tag = tag + 1
        self.broker.journal.record(
            "delivered", self.vhost.name, msg=msg, consumer_tag=self.reply_tag, direct_reply=True
        )
        assert self.reply_tag is not None
        self.conn.emit(Deliver(self.number, self.reply_tag, tag, False, "", msg.routing_key, msg))

    @_closes_on_error
    def basic_get(self, queue: str, no_ack: bool = False) -> GetOk | None:
        """basic.get: one message, or None for get-empty."""
        self._may("read", "queue", self._queue_name(queue))
        target = self._queue(queue)
        target.touch()
        entry = target.take()
        stats = target.stats
        if entry is None:
            stats["get_empty"] += 1
            return None
        stats["get_no_ack" if no_ack else "get"] += 1
        if entry.redelivered:
            stats["redeliver"] += 1
        tag = self.next_tag
        self.next_tag = tag + 1
        if not no_ack:
            self.unacked[tag] = Pending(entry, target, None, self.broker.clock.now())
            target.unacked += 1
            if self._timeout_timer is None:
                self._arm_timeout()
        msg = entry.msg
        self.broker.journal.record(
            "delivered",
            self.vhost.name,
            queue=target.name,
            msg=msg,
            no_ack=no_ack,
            redelivered=entry.redelivered,
        )
        return GetOk(
            tag,
            entry.redelivered,
            msg.exchange,
            msg.routing_key,
            len(target.store),
            _with_delivery_count(entry) if target.quorum else msg,
        )

    # -- settling ---------------------------------------------------------------------------

    def _take_pending(self, delivery_tag: int, multiple: bool) -> list[tuple[int, Pending]]:
        unacked = self.unacked
        if multiple:
            if delivery_tag == 0:
                taken = list(unacked.items())
                unacked.clear()
                return taken
            if delivery_tag not in unacked:
                raise R.unknown_delivery_tag(delivery_tag)
            taken = []
            for tag in list(unacked):
                if tag > delivery_tag:
                    break
                taken.append((tag, unacked.pop(tag)))
            return taken
        pending = unacked.pop(delivery_tag, None)
        if pending is None:
            raise R.unknown_delivery_tag(delivery_tag)
        return [(delivery_tag, pending)]

    def basic_ack(self, delivery_tag: int, multiple: bool = False) -> None:
        """basic.ack."""
        self._settle(delivery_tag, multiple, None, False, "acked")

    def basic_nack(self, delivery_tag: int, multiple: bool = False, requeue: bool = True) -> None:
        """basic.nack."""
        self._settle(delivery_tag, multiple, "rejected", requeue, "nacked")

    def basic_reject(self, delivery_tag: int, requeue: bool = True) -> None:
        """basic.reject."""
        self._settle(delivery_tag, False, "rejected", requeue, "rejected")

    def _settle(
        self, delivery_tag: int, multiple: bool, reason: str | None, requeue: bool, kind: str
    ) -> None:
        try:
            taken = self._take_pending(delivery_tag, multiple)
        except AMQPError as error:
            self.fail(error)
            raise
        if self.tx:
            self._tx_acks.extend(TxSettlement(tag, p, reason, requeue) for tag, p in taken)
            return
        self._apply_settlements([(p, reason, requeue) for _, p in taken], kind)

    def _apply_settlements(self, items: list[tuple[Pending, str | None, bool]], kind: str) -> None:
        journal = self.broker.journal
        touched: dict[Queue, None] = {}
        was_full = self.global_prefetch and self.consumer_unacked >= self.global_prefetch
        for pending, reason, requeue in items:
            consumer = pending.consumer
            queue = pending.queue
            if consumer is not None:
                consumer.unacked -= 1
                self.consumer_unacked -= 1
                touched[queue] = None
            if kind == "acked":
                queue.stats["ack"] += 1
            if journal.enabled:
                journal.record(kind, self.vhost.name, queue=queue.name, msg=pending.entry.msg)
            if requeue:
                queue.requeue(pending.entry)
            else:
                queue.discard(pending.entry, reason)
        if was_full:
            for consumer in list(self.consumers.values()):
                touched[consumer.queue] = None
        for queue in touched:
            if queue.store and queue.consumers and not queue.deleted:
                queue.dispatch()

    @_closes_on_error
    def basic_recover(self, requeue: bool = True) -> None:
        """basic.recover: requeue every unacked message (540 for requeue=false, as RabbitMQ)."""
        if not requeue:
            raise R.not_implemented("requeue=false")
        items = sorted(self.unacked.values(), key=lambda p: p.entry.seq)
        self.unacked.clear()
        self._apply_settlements([(p, None, True) for p in items], "requeued")

    # -- publishing -------------------------------------------------------------------------

    def basic_publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: Properties | None = None,
        mandatory: bool = False,
        immediate: bool = False,
        wire: object = None,
        *,
        unroutable: bool = False,
        size: int | None = None,
    ) -> None:
        """basic.publish: routes now (or at tx.commit); confirms and returns go to the outbox.

        ``wire`` is an opaque encoding of ``properties`` (the protocol
        engine's content header): kept as :attr:`Message.wire` while the
        core leaves the properties as they came, as RabbitMQ re-sends a
        publisher's encoded properties unchanged.  ``unroutable`` (a fault)
        routes the message to no queue: unroutable, returned if mandatory.
        ``size``: the body's size when the engine did not keep a body over
        the limit (checked in ``body``'s place).
        """
        try:
            if immediate:
                raise R.immediate()
            self._check_size(len(body) if size is None else size)
            self._may("write", "exchange", exchange)
            target = self.vhost.exchanges.get(exchange)
            if target is None:
                raise R.not_found("exchange", exchange, self.vhost.name)
            if target.internal:
                raise R.internal_exchange(exchange, self.vhost.name)
            self._may_topic(target, "write", routing_key)
            props = properties or {}
            if props is not properties:
                wire = None
            if props.get("reply_to") == REPLY_QUEUE:  # before the expiration, as RabbitMQ
                props, wire = self.broker.reply_to.rewrite(self, props), None
            self._check_user_id(props.get("user_id"))
            if "expiration" in props:
                check_expiration(props["expiration"])
            extra: tuple[str, ...] = ()
            headers = props.get("headers")
            if headers and ("CC" in headers or "BCC" in headers):
                extra, stored = sender_selected(props)
                if stored is not props:
                    props, wire = stored, None
            if props.get("delivery_mode") not in (None, 1, 2):  # as rabbit_basic:message/3
                raise R.invalid_message(f"{{delivery_mode_unknown,{props['delivery_mode']}}}")
        except AMQPError as error:
            self.fail(error)
            raise
        if self.tx:
            publish = TxPublish(target, routing_key, mandatory, props, body, wire, extra)
            self._tx_publishes.append(publish)
            return
        self._publish(target, routing_key, mandatory, props, body, wire, extra, unroutable)

    def _publish(
        self,
        exchange: Exchange,
        routing_key: str,
        mandatory: bool,
        props: Properties,
        body: bytes,
        wire: object = None,
        extra_keys: tuple[str, ...] = (),
        unroutable: bool = False,
    ) -> None:
        broker = self.broker
        vhost = self.vhost
        msg = Message(exchange.name, routing_key, props, body, next(broker.message_ids))
        msg.wire = wire
        vhost.stats["publish"] += 1
        journal = broker.journal
        if journal.enabled:
            journal.record(
                "published", vhost.name, exchange=exchange.name, routing_key=routing_key, msg=msg
            )
        queues: list[Queue] = []
        if exchange is vhost.default and routing_key.startswith(REPLY_PREFIX) and not unroutable:
            if broker.reply_to.deliver(routing_key, msg):
                self._confirm(False)
                return
        elif not unroutable:
            queues = vhost.route(exchange, routing_key, props.get("headers"), extra_keys)
        rejected = False
        for queue in queues:
            if queue.may_reject and queue.would_reject(msg):
                rejected = True
                if queue.args.overflow == "reject-publish-dlx":
                    vhost.dead_letter_message(queue, msg, "maxlen", enqueued=False)
                journal.record(
                    "dropped",
                    vhost.name,
                    queue=queue.name,
                    msg=msg,
                    reason="overflow",
                    enqueued=False,
                )
                continue
            queue.enqueue(msg)
        if not queues:
            vhost.stats["return_unroutable" if mandatory else "drop_unroutable"] += 1
            journal.record(
                "unroutable", vhost.name, exchange=exchange.name, routing_key=routing_key, msg=msg
            )
            if mandatory:
                journal.record(
                    "returned", vhost.name, exchange=exchange.name, routing_key=routing_key, msg=msg
                )
                self.conn.emit(
                    Return(self.number, 312, R.NO_ROUTE_TEXT, exchange.name, routing_key, msg)
                )
        if self.confirm:
            self._confirm(rejected)

    def _confirm(self, rejected: bool) -> None:
        if self.confirm:
            self.publish_seq += 1
            self.vhost.stats["confirm"] += 1
            event = ConfirmNack if rejected else ConfirmAck
            self.conn.emit(event(self.number, self.publish_seq))

    # -- modes ------------------------------------------------------------------------------

    def _check_size(self, size: int) -> None:
        limit = self.broker.max_message_size
        if size > limit:
            raise R.message_too_large(size, limit, MAX_MESSAGE_SIZE_CAP)

    def _check_user_id(self, claimed: object) -> None:
        user = self.conn.user
        if claimed is None or claimed == user or not self.broker.has_user(user):
            return
        if "impersonator" in self.broker.permissions.tags.get(user, ()):
            return
        raise R.user_id_mismatch(str(claimed), user)

    @_closes_on_error
    def confirm_select(self) -> None:
        """confirm.select."""
        if self.tx:
            raise R.tx_to_confirm()
        self.confirm = True

    @_closes_on_error
    def tx_select(self) -> None:
        """tx.select."""
        if self.confirm:
            raise R.confirm_to_tx()
        self.tx = True

    @_closes_on_error
    def tx_commit(self) -> None:
        """tx.commit: apply the buffered publishes and settlements."""
        if not self.tx:
            raise R.not_transactional()
        publishes, self._tx_publishes = self._tx_publishes, []
        acks, self._tx_acks = self._tx_acks, []
        for p in publishes:
            if not p.exchange.deleted:
                self._publish(
                    p.exchange,
                    p.routing_key,
                    p.mandatory,
                    p.properties,
                    p.body,
                    p.wire,
                    p.extra_keys,
                )
        self._apply_settlements([(s.pending, s.reason, s.requeue) for s in acks], "acked")

    @_closes_on_error
    def tx_rollback(self) -> None:
        """tx.rollback: forget buffered publishes; buffered settlements become unacked again."""
        if not self.tx:
            raise R.not_transactional()
        self._tx_publishes.clear()
        acks, self._tx_acks = self._tx_acks, []
        for settlement in acks:
            self.unacked[settlement.delivery_tag] = settlement.pending
        self.unacked = dict(sorted(self.unacked.items()))

    @_closes_on_error
    def flow(self, active: bool) -> bool:
        """channel.flow: RabbitMQ accepts active=true only (540 for active=false)."""
        if not active:
            raise R.not_implemented("active=false")
        return True

    # -- consumer timeout -------------------------------------------------------------------

    def _arm_timeout(self) -> None:
        timeout = self.broker.consumer_timeout
        if timeout is None or not self.unacked:
            return
        oldest = next(iter(self.unacked.values()))
        due = oldest.delivered_at + timeout
        # RabbitMQ evaluates the timeout on the channel's periodic tick (every
        # 60 s from channel.open), so a channel closes at the first tick past it.
        interval = self.broker.consumer_timeout_tick
        if interval:
            due = self.opened_at + math.ceil((due - self.opened_at) / interval) * interval
        self._timeout_timer = self.broker.clock.call_at(due, self._on_timeout)

    def _on_timeout(self) -> None:
        self._timeout_timer = None
        timeout = self.broker.consumer_timeout
        if self.closed or timeout is None or not self.unacked:
            return
        oldest = min(p.delivered_at for p in self.unacked.values())
        if oldest + timeout <= self.broker.clock.now():
            self._close_by_server(R.consumer_timeout(self.number, int(timeout * 1000)))
        else:
            self._arm_timeout()


def _with_delivery_count(entry: Entry) -> Message:
    """A quorum queue's delivery: the message with its ``x-delivery-count`` header."""
    msg = entry.msg
    headers = dict(msg.headers)
    headers["x-delivery-count"] = entry.dcount
    props = dict(msg.properties)
    props["headers"] = headers
    return Message(msg.exchange, msg.routing_key, props, msg.body, msg.id)
