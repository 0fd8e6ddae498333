"""A queue: ready messages, consumers, expiry, length limits and dead-lettering triggers.

Rules (RabbitMQ 3.10 classic queues unless said otherwise):
- a published message is offered to a consumer at once if one has room,
  else it waits at the tail; consumers take turns (round-robin);
- a message expires (queue ``x-message-ttl`` or its own ``expiration``) only at
  the head of the queue (the next to leave, highest priority first), once
  ``now >= expiry`` (RabbitMQ's test, so the very instant counts); an expired message
  is dead-lettered (``expired``) or dropped. One that waited behind others expires when
  it reaches the head; one put back (nack, reject, recover, a closed channel) with its
  time up expires then. So ``expiration: "0"`` reaches only a consumer that can take it
  as it arrives, and is never redelivered;
- ``x-max-length`` / ``x-max-length-bytes`` count ready messages: drop-head
  dead-letters the oldest (``maxlen``); reject-publish refuses the new one
  (reject-publish-dlx also dead-letters it);
- ``x-expires`` deletes the queue after it has been unused that long
  (no consumers, no basic.get, no redeclare);
- with ``x-single-active-consumer`` only the earliest live consumer receives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._args import QueueArgs
from ._store import Entry, Fifo, PriorityStore
from .clock import Timer
from .message import Message

if TYPE_CHECKING:
    from ._channel import Channel
    from ._connection import Connection
    from ._vhost import Vhost


def _due(entry: Entry, now: float) -> bool:
    """RabbitMQ's rule: expired once ``now >= expiry``."""
    expires = entry.expires
    return expires is not None and expires <= now


class Consumer:
    """A basic.consume subscription."""

    __slots__ = (
        "arguments",
        "channel",
        "exclusive",
        "no_ack",
        "paused",
        "prefetch",
        "priority",
        "queue",
        "tag",
        "unacked",
    )

    def __init__(
        self,
        *,
        tag: str,
        channel: Channel,
        queue: Queue,
        no_ack: bool,
        exclusive: bool,
        prefetch: int,
        arguments: dict[str, Any],
    ) -> None:
        self.tag = tag
        self.channel = channel
        self.queue = queue
        self.no_ack = no_ack
        self.exclusive = exclusive
        self.prefetch = prefetch
        self.unacked = 0
        self.arguments = arguments
        #: The connection's socket is full (credit flow): no deliveries until it drains.
        self.paused = channel.conn.deliveries_paused
        priority = arguments.get("x-priority", 0)
        self.priority = priority if isinstance(priority, int) else 0

    def has_room(self) -> bool:
        """Whether qos and flow allow one more delivery."""
        if self.paused:
            return False
        ch = self.channel
        if self.no_ack:
            return True
        if self.prefetch and self.unacked >= self.prefetch:
            return False
        return not (ch.global_prefetch and ch.consumer_unacked >= ch.global_prefetch)


class Queue:
    """One queue of a vhost."""

    def __init__(
        self,
        *,
        vhost: Vhost,
        name: str,
        durable: bool,
        exclusive_owner: Connection | None,
        auto_delete: bool,
        arguments: dict[str, Any],
        args: QueueArgs,
    ) -> None:
        self.vhost = vhost
        self.name = name
        self.durable = durable
        self.exclusive_owner = exclusive_owner
        self.auto_delete = auto_delete
        self.arguments = arguments
        self.args = args
        self.store: Fifo | PriorityStore = (
            PriorityStore(args.max_priority) if args.max_priority is not None else Fifo()
        )
        self.ready_bytes = 0
        self.unacked = 0
        self.consumers: list[Consumer] = []
        self.bindings: set[Any] = set()
        self.deleted = False
        self._rr = 0
        self._rr_by_priority: dict[int, int] = {}
        self._prioritised = False
        self._seq = 0
        self._ttl_timer: Timer | None = None
        self._expires_timer: Timer | None = None
        #: Whether any message here may carry an expiry (then the head is checked on take).
        self._has_ttl = args.message_ttl is not None
        self.quorum = args.queue_type == "quorum"
        self._limited = args.max_length is not None or args.max_length_bytes is not None
        #: Whether reject-publish overflow can refuse a message (checked on every publish).
        self.may_reject = self._limited and args.overflow != "drop-head"
        self._had_consumer = False
        #: message_stats counters (publish, deliver, get, ack ...), read by core/stats.py.
        self.stats: Counter[str] = Counter()
        self.touch()

    # -- inspection -------------------------------------------------------------------------

    @property
    def exclusive(self) -> bool:
        """True for an exclusive queue."""
        return self.exclusive_owner is not None

    @property
    def message_count(self) -> int:
        """Ready messages (unacked ones excluded), as queue.declare-ok reports them."""
        self.expire_at_head()
        return len(self.store)

    @property
    def consumer_count(self) -> int:
        """Consumers subscribed."""
        return len(self.consumers)

    def entries(self) -> Iterator[Entry]:
        """Ready entries in delivery order."""
        return iter(self.store)

    def messages(self) -> list[Message]:
        """Ready messages in delivery order."""
        return [entry.msg for entry in self.store]

    # -- publishing -------------------------------------------------------------------------

    def would_reject(self, msg: Message) -> bool:
        """True when reject-publish overflow refuses ``msg``."""
        if not self._limited or self.args.overflow == "drop-head":
            return False
        self.expire_at_head()
        a = self.args
        if a.max_length is not None and len(self.store) >= a.max_length:
            return True
        return a.max_length_bytes is not None and (
            self.ready_bytes + len(msg.body) > a.max_length_bytes
        )

    def enqueue(self, msg: Message) -> None:
        """Add a routed message at the tail and try to deliver it."""
        self._seq += 1
        self.stats["publish"] += 1
        if self._has_ttl or "expiration" in msg.properties:
            self._has_ttl = True  # from now on, whoever comes to the head may expire there
            now = self.vhost.broker.clock.now()
            expires = self._expiry_of(msg, now)
        else:
            now, expires = 0.0, None
        priority = 0 if self.args.max_priority is None else self._priority_of(msg)
        entry = Entry(msg, self._seq, expires, priority)
        journal = self.vhost.broker.journal
        if journal.enabled:
            journal.record("routed", self.vhost.name, queue=self.name, msg=msg)
        store = self.store
        if not store and self.consumers:
            consumer = self._next_consumer()
            if consumer is not None:
                consumer.channel.deliver(consumer, entry, self)
                return
        store.push(entry)
        self.ready_bytes += len(msg.body)
        if self.consumers and len(store) > 1:
            self.dispatch()
        if expires is not None:
            if expires <= now:
                self.expire_at_head()
            elif len(store) == 1 or self._ttl_timer is None:
                self._arm_ttl()
        if self._limited:
            self._enforce_limits()

    def _expiry_of(self, msg: Message, now: float) -> float | None:
        ttl = self.args.message_ttl
        expiration = msg.properties.get("expiration")
        if expiration is not None:
            try:
                per_msg = int(expiration)
            except (TypeError, ValueError):
                per_msg = None
            if per_msg is not None and (ttl is None or per_msg < ttl):
                ttl = per_msg
        return None if ttl is None else now + ttl / 1000.0

    def _priority_of(self, msg: Message) -> int:
        top = self.args.max_priority
        if top is None:
            return 0
        priority = msg.properties.get("priority") or 0
        return min(int(priority), top)

    def _enforce_limits(self) -> None:
        a = self.args
        if a.overflow != "drop-head":
            return
        store = self.store
        while store and (
            (a.max_length is not None and len(store) > a.max_length)
            or (a.max_length_bytes is not None and self.ready_bytes > a.max_length_bytes)
        ):
            entry = self._pop()
            self.vhost.dead_letter(self, entry, "maxlen")
            self._arm_ttl()

    # -- taking messages out ----------------------------------------------------------------

    def _pop(self) -> Entry:
        entry = self.store.take_head()
        self.ready_bytes -= len(entry.msg.body)
        return entry

    def take(self) -> Entry | None:
        """The next live message for basic.get or a delivery, or None."""
        if self._has_ttl:
            self.expire_at_head()
        if not self.store:
            return None
        entry = self._pop()
        if self._has_ttl:  # RabbitMQ's fetch drops what has expired behind it, then counts
            self.expire_at_head()
            self._arm_ttl()
        return entry

    def dispatch(self) -> None:
        """Deliver ready messages to consumers with room, round-robin."""
        consumers = self.consumers
        store = self.store
        while store and consumers:
            consumer = self._next_consumer()
            if consumer is None:
                return
            entry = self.take()
            if entry is None:
                return
            consumer.channel.deliver(consumer, entry, self)

    def _next_consumer(self) -> Consumer | None:
        consumers = self.consumers
        if self.args.single_active_consumer or len(consumers) == 1:
            first = consumers[0]
            return first if first.has_room() else None
        if self._prioritised:
            return self._next_by_priority()
        count = len(consumers)
        start = self._rr % count
        for offset in range(count):
            index = (start + offset) % count
            consumer = consumers[index]
            if consumer.has_room():
                self._rr = index + 1
                return consumer
        return None

    def _next_by_priority(self) -> Consumer | None:
        """The highest-priority consumer with room; round-robin within a priority."""
        consumers = self.consumers  # sorted by priority, highest first
        start, count = 0, len(consumers)
        while start < count:
            priority = consumers[start].priority
            end = start
            while end < count and consumers[end].priority == priority:
                end += 1
            size = end - start
            base = self._rr_by_priority.get(priority, 0) % size
            for offset in range(size):
                index = (base + offset) % size
                consumer = consumers[start + index]
                if consumer.has_room():
                    self._rr_by_priority[priority] = index + 1
                    return consumer
            start = end
        return None

    def requeue(self, entry: Entry) -> None:
        """Put a delivered message back, marked redelivered.

        A classic queue puts it back at its original place; a quorum queue
        (RabbitMQ 3.10) at the tail, counting the return in ``x-delivery-count``.
        """
        self.unacked -= 1
        if self.deleted:
            self._record_lost(entry)
            return
        entry.redelivered = True
        if self.quorum:
            entry.dcount += 1
            limit = self.args.delivery_limit
            if limit is not None and entry.dcount > limit:
                self.vhost.dead_letter(self, entry, "delivery_limit")
                return
            self.store.push(entry)
        else:
            self.store.requeue(entry)
        self.ready_bytes += len(entry.msg.body)
        self.vhost.broker.journal.record(
            "requeued", self.vhost.name, queue=self.name, msg=entry.msg
        )
        if entry.expires is not None:
            self.expire_at_head()  # RabbitMQ drops what has expired on requeue (Now >= expiry)
            self._arm_ttl()
        if self.consumers:
            self.dispatch()

    def discard(self, entry: Entry, reason: str | None) -> None:
        """A delivered message settled for good: acked (reason None) or rejected."""
        self.unacked -= 1
        if reason is None:
            return
        if self.deleted:
            self._record_lost(entry)
        else:
            self.vhost.dead_letter(self, entry, reason)

    def _record_lost(self, entry: Entry) -> None:
        self.vhost.broker.journal.record(
            "deleted", self.vhost.name, queue=self.name, msg=entry.msg, reason="queue_deleted"
        )

    # -- expiry -----------------------------------------------------------------------------

    def expire_at_head(self) -> None:
        """Dead-letter or drop expired messages at the head, one after another.

        The head is the next message to leave (in a priority queue, the first of
        the highest non-empty level): RabbitMQ looks nowhere else, so an expired
        message behind it waits for its turn, and counts until then.
        A message with TTL 0 reaches a consumer only when it is handed over as
        it arrives (``enqueue``); once it has waited, it expires at the head.
        """
        now = self.vhost.broker.clock.now()
        store = self.store
        while True:
            expired = store.peek()
            if expired is None or not _due(expired, now):
                return
            store.take_head()
            self.ready_bytes -= len(expired.msg.body)
            self.vhost.dead_letter(self, expired, "expired")

    def _arm_ttl(self) -> None:
        head = self.store.peek()
        deadline = None if head is None else head.expires
        timer = self._ttl_timer
        if timer is not None:
            if deadline is not None and timer.when == deadline:
                return
            timer.cancel()
            self._ttl_timer = None
        if deadline is not None and not self.deleted:
            self._ttl_timer = self.vhost.broker.clock.call_at(deadline, self._on_ttl)

    def keep_persistent(self) -> None:
        """A broker restart: only persistent ready messages stay (the rest journaled deleted)."""
        journal = self.vhost.broker.journal
        self.ready_bytes = 0
        for entry in self.store.drain():
            if entry.msg.persistent:
                self.store.push(entry)
                self.ready_bytes += len(entry.msg.body)
            else:
                journal.record(
                    "deleted", self.vhost.name, queue=self.name, msg=entry.msg, reason="restart"
                )
        self._arm_ttl()

    def _on_ttl(self) -> None:
        self._ttl_timer = None
        self.expire_at_head()
        self._arm_ttl()

    def touch(self) -> None:
        """Restart the x-expires countdown (a redeclare, a basic.get, the last consumer leaving)."""
        if self.args.expires is None or self.deleted:
            return
        if self._expires_timer is not None:
            self._expires_timer.cancel()
            self._expires_timer = None
        if not self.consumers:
            clock = self.vhost.broker.clock
            self._expires_timer = clock.call_later(self.args.expires / 1000.0, self._on_expires)

    def _on_expires(self) -> None:
        self._expires_timer = None
        if not self.consumers and not self.deleted:
            self.vhost.delete_queue_object(self, reason="expired")

    # -- consumers --------------------------------------------------------------------------

    def add_consumer(self, consumer: Consumer) -> None:
        """Subscribe a consumer (after those of its priority or higher) and deliver."""
        consumers = self.consumers
        index = len(consumers)
        while index and consumers[index - 1].priority < consumer.priority:
            index -= 1
        consumers.insert(index, consumer)
        self._prioritised = any(c.priority != consumers[0].priority for c in consumers)
        self._had_consumer = True
        if self._expires_timer is not None:
            self._expires_timer.cancel()
            self._expires_timer = None
        self.dispatch()

    def remove_consumer(self, consumer: Consumer, *, dispatch: bool = True) -> None:
        """Unsubscribe; an auto-delete queue goes with its last consumer.

        ``dispatch=False``: the caller dispatches later (a closing channel
        first requeues its unacked messages, as RabbitMQ does).
        """
        try:
            self.consumers.remove(consumer)
        except ValueError:
            return
        consumers = self.consumers
        self._prioritised = any(c.priority != consumers[0].priority for c in consumers)
        if self.consumers:
            if dispatch:
                self.dispatch()
            return
        if self.auto_delete and self._had_consumer:
            self.vhost.delete_queue_object(self, reason="auto_delete")
        else:
            self.touch()

    # -- bulk -------------------------------------------------------------------------------

    def purge(self) -> int:
        """Remove every ready message; return how many."""
        entries = self.store.drain()
        self.ready_bytes = 0
        if self._ttl_timer is not None:
            self._ttl_timer.cancel()
            self._ttl_timer = None
        journal = self.vhost.broker.journal
        for entry in entries:
            journal.record("purged", self.vhost.name, queue=self.name, msg=entry.msg)
        return len(entries)

    def destroy(self) -> list[Entry]:
        """Mark deleted, stop timers, and hand back the ready entries."""
        self.deleted = True
        for timer in (self._ttl_timer, self._expires_timer):
            if timer is not None:
                timer.cancel()
        self._ttl_timer = self._expires_timer = None
        entries = self.store.drain()
        self.ready_bytes = 0
        return entries
