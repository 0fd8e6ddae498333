"""Client methods on an open channel, mapped to the core.

Each handler calls one core channel method (access.request, deprecated,
none: RabbitMQ grants ticket 1) and returns the synchronous reply: a
method, a method with a message (basic.get-ok), or None (nowait variants,
basic.ack, basic.publish, ...).  Errors are the core's exceptions;
the engine turns them into channel.close or connection.close.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pamqp import base
from pamqp import commands as C

from fakebroker.core import Channel, Message

from ._codec import AccessRequest, AccessRequestOk, unchecked

__all__ = ["CLIENT_CONTENT_METHODS", "HANDLERS", "Reply"]

#: What a handler returns: nothing, a method, or a method carrying a message.
Reply = base.Frame | tuple[base.Frame, Message] | None
_M = TypeVar("_M", bound=base.Frame)
_Handler = Callable[[Channel, _M], Reply]

#: Handlers by method class, each typed with its own pamqp class where it is defined
#: (the table erases that to Any: a handler is only ever called with its own class).
#: basic.publish is run by the channel layer (_channels.py): it also hands the core
#: the client's encoded content header.
HANDLERS: dict[type[base.Frame], Callable[[Channel, Any], Reply]] = {}


def _handles(cls: type[_M]) -> Callable[[_Handler[_M]], _Handler[_M]]:
    def register(handler: _Handler[_M]) -> _Handler[_M]:
        HANDLERS[cls] = handler
        return handler

    return register


def _ok(nowait: bool, reply: base.Frame) -> Reply:
    return None if nowait else reply


@_handles(C.Exchange.Declare)
def _exchange_declare(ch: Channel, m: C.Exchange.Declare) -> Reply:
    ch.exchange_declare(
        m.exchange,
        type=m.exchange_type,
        passive=m.passive,
        durable=m.durable,
        auto_delete=m.auto_delete,
        internal=m.internal,
        arguments=m.arguments or {},
    )
    return _ok(m.nowait, C.Exchange.DeclareOk())


@_handles(C.Exchange.Delete)
def _exchange_delete(ch: Channel, m: C.Exchange.Delete) -> Reply:
    ch.exchange_delete(m.exchange, if_unused=m.if_unused)
    return _ok(m.nowait, C.Exchange.DeleteOk())


@_handles(C.Exchange.Bind)
def _exchange_bind(ch: Channel, m: C.Exchange.Bind) -> Reply:
    ch.exchange_bind(m.destination, m.source, m.routing_key, m.arguments or {})
    return _ok(m.nowait, C.Exchange.BindOk())


@_handles(C.Exchange.Unbind)
def _exchange_unbind(ch: Channel, m: C.Exchange.Unbind) -> Reply:
    ch.exchange_unbind(m.destination, m.source, m.routing_key, m.arguments or {})
    return _ok(m.nowait, C.Exchange.UnbindOk())


@_handles(C.Queue.Declare)
def _queue_declare(ch: Channel, m: C.Queue.Declare) -> Reply:
    ok = ch.queue_declare(
        m.queue,
        passive=m.passive,
        durable=m.durable,
        exclusive=m.exclusive,
        auto_delete=m.auto_delete,
        arguments=m.arguments or {},
    )
    return _ok(
        m.nowait,
        unchecked(
            C.Queue.DeclareOk,
            queue=ok.queue,
            message_count=ok.message_count,
            consumer_count=ok.consumer_count,
        ),
    )


@_handles(C.Queue.Bind)
def _queue_bind(ch: Channel, m: C.Queue.Bind) -> Reply:
    ch.queue_bind(m.queue, m.exchange, m.routing_key, m.arguments or {})
    return _ok(m.nowait, C.Queue.BindOk())


@_handles(C.Queue.Unbind)
def _queue_unbind(ch: Channel, m: C.Queue.Unbind) -> Reply:
    ch.queue_unbind(m.queue, m.exchange, m.routing_key, m.arguments or {})
    return C.Queue.UnbindOk()


@_handles(C.Queue.Purge)
def _queue_purge(ch: Channel, m: C.Queue.Purge) -> Reply:
    count = ch.queue_purge(m.queue)
    return _ok(m.nowait, C.Queue.PurgeOk(message_count=count))


@_handles(C.Queue.Delete)
def _queue_delete(ch: Channel, m: C.Queue.Delete) -> Reply:
    count = ch.queue_delete(m.queue, if_unused=m.if_unused, if_empty=m.if_empty)
    return _ok(m.nowait, C.Queue.DeleteOk(message_count=count))


@_handles(C.Basic.Qos)
def _basic_qos(ch: Channel, m: C.Basic.Qos) -> Reply:
    ch.basic_qos(m.prefetch_size, m.prefetch_count, m.global_)
    return C.Basic.QosOk()


@_handles(C.Basic.Consume)
def _basic_consume(ch: Channel, m: C.Basic.Consume) -> Reply:
    tag = ch.basic_consume(
        m.queue,
        consumer_tag=m.consumer_tag,
        no_local=m.no_local,
        no_ack=m.no_ack,
        exclusive=m.exclusive,
        arguments=m.arguments or {},
    )
    return _ok(m.nowait, C.Basic.ConsumeOk(consumer_tag=tag))


@_handles(C.Basic.Cancel)
def _basic_cancel(ch: Channel, m: C.Basic.Cancel) -> Reply:
    ch.basic_cancel(m.consumer_tag or "")
    return _ok(m.nowait, C.Basic.CancelOk(consumer_tag=m.consumer_tag))


@_handles(C.Basic.Get)
def _basic_get(ch: Channel, m: C.Basic.Get) -> Reply:
    ok = ch.basic_get(m.queue, no_ack=m.no_ack)
    if ok is None:
        return C.Basic.GetEmpty()
    method = unchecked(
        C.Basic.GetOk,
        delivery_tag=ok.delivery_tag,
        redelivered=ok.redelivered,
        exchange=ok.exchange,
        routing_key=ok.routing_key,
        message_count=ok.message_count,
    )
    return method, ok.message


@_handles(C.Basic.Ack)
def _basic_ack(ch: Channel, m: C.Basic.Ack) -> Reply:
    ch.basic_ack(m.delivery_tag, m.multiple)
    return None


@_handles(C.Basic.Nack)
def _basic_nack(ch: Channel, m: C.Basic.Nack) -> Reply:
    ch.basic_nack(m.delivery_tag, m.multiple, m.requeue)
    return None


@_handles(C.Basic.Reject)
def _basic_reject(ch: Channel, m: C.Basic.Reject) -> Reply:
    ch.basic_reject(m.delivery_tag or 0, m.requeue)
    return None


@_handles(C.Basic.Recover)
def _basic_recover(ch: Channel, m: C.Basic.Recover) -> Reply:
    ch.basic_recover(m.requeue)
    return C.Basic.RecoverOk()


@_handles(C.Basic.RecoverAsync)
def _basic_recover_async(ch: Channel, m: C.Basic.RecoverAsync) -> Reply:
    ch.basic_recover(m.requeue)
    return None


@_handles(C.Confirm.Select)
def _confirm_select(ch: Channel, m: C.Confirm.Select) -> Reply:
    ch.confirm_select()
    return _ok(m.nowait, C.Confirm.SelectOk())


@_handles(C.Tx.Select)
def _tx_select(ch: Channel, m: C.Tx.Select) -> Reply:
    ch.tx_select()
    return C.Tx.SelectOk()


@_handles(C.Tx.Commit)
def _tx_commit(ch: Channel, m: C.Tx.Commit) -> Reply:
    ch.tx_commit()
    return C.Tx.CommitOk()


@_handles(C.Tx.Rollback)
def _tx_rollback(ch: Channel, m: C.Tx.Rollback) -> Reply:
    ch.tx_rollback()
    return C.Tx.RollbackOk()


@_handles(AccessRequest)
def _access_request(ch: Channel, m: AccessRequest) -> Reply:
    # RabbitMQ 3.10 grants every request (the access class is deprecated): ticket 1
    return AccessRequestOk(ticket=1)


@_handles(C.Channel.Flow)
def _channel_flow(ch: Channel, m: C.Channel.Flow) -> Reply:
    return C.Channel.FlowOk(active=ch.flow(bool(m.active)))


#: Methods that carry content when a client sends them (all but publish are server-only).
CLIENT_CONTENT_METHODS: frozenset[type[base.Frame]] = frozenset(
    {C.Basic.Publish, C.Basic.Deliver, C.Basic.GetOk, C.Basic.Return}
)
