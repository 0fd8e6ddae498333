"""Client methods on an open channel, mapped to the core.

Each handler calls one core channel method and returns the synchronous
reply: a method, a method with a message (basic.get-ok), or None (nowait
variants, basic.ack, basic.publish, ...).  Errors are the core's exceptions;
the engine turns them into channel.close or connection.close.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pamqp import base
from pamqp import commands as C

from fakebroker.core import Channel, Message

from ._codec import unchecked

__all__ = ["CLIENT_CONTENT_METHODS", "HANDLERS", "Reply"]

#: What a handler returns: nothing, a method, or a method carrying a message.
Reply = base.Frame | tuple[base.Frame, Message] | None
Handler = Callable[[Channel, Any], Reply]


def _ok(nowait: bool, reply: base.Frame) -> Reply:
    return None if nowait else reply


def _exchange_declare(ch: Channel, m: Any) -> Reply:
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


def _exchange_delete(ch: Channel, m: Any) -> Reply:
    ch.exchange_delete(m.exchange, if_unused=m.if_unused)
    return _ok(m.nowait, C.Exchange.DeleteOk())


def _exchange_bind(ch: Channel, m: Any) -> Reply:
    ch.exchange_bind(m.destination, m.source, m.routing_key, m.arguments or {})
    return _ok(m.nowait, C.Exchange.BindOk())


def _exchange_unbind(ch: Channel, m: Any) -> Reply:
    ch.exchange_unbind(m.destination, m.source, m.routing_key, m.arguments or {})
    return _ok(m.nowait, C.Exchange.UnbindOk())


def _queue_declare(ch: Channel, m: Any) -> Reply:
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


def _queue_bind(ch: Channel, m: Any) -> Reply:
    ch.queue_bind(m.queue, m.exchange, m.routing_key, m.arguments or {})
    return _ok(m.nowait, C.Queue.BindOk())


def _queue_unbind(ch: Channel, m: Any) -> Reply:
    ch.queue_unbind(m.queue, m.exchange, m.routing_key, m.arguments or {})
    return C.Queue.UnbindOk()


def _queue_purge(ch: Channel, m: Any) -> Reply:
    count = ch.queue_purge(m.queue)
    return _ok(m.nowait, C.Queue.PurgeOk(message_count=count))


def _queue_delete(ch: Channel, m: Any) -> Reply:
    count = ch.queue_delete(m.queue, if_unused=m.if_unused, if_empty=m.if_empty)
    return _ok(m.nowait, C.Queue.DeleteOk(message_count=count))


def _basic_qos(ch: Channel, m: Any) -> Reply:
    ch.basic_qos(m.prefetch_size, m.prefetch_count, m.global_)
    return C.Basic.QosOk()


def _basic_consume(ch: Channel, m: Any) -> Reply:
    tag = ch.basic_consume(
        m.queue,
        consumer_tag=m.consumer_tag,
        no_local=m.no_local,
        no_ack=m.no_ack,
        exclusive=m.exclusive,
        arguments=m.arguments or {},
    )
    return _ok(m.nowait, C.Basic.ConsumeOk(consumer_tag=tag))


def _basic_cancel(ch: Channel, m: Any) -> Reply:
    ch.basic_cancel(m.consumer_tag)
    return _ok(m.nowait, C.Basic.CancelOk(consumer_tag=m.consumer_tag))


def _basic_get(ch: Channel, m: Any) -> Reply:
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


def _basic_ack(ch: Channel, m: Any) -> Reply:
    ch.basic_ack(m.delivery_tag, m.multiple)
    return None


def _basic_nack(ch: Channel, m: Any) -> Reply:
    ch.basic_nack(m.delivery_tag, m.multiple, m.requeue)
    return None


def _basic_reject(ch: Channel, m: Any) -> Reply:
    ch.basic_reject(m.delivery_tag, m.requeue)
    return None


def _basic_recover(ch: Channel, m: Any) -> Reply:
    ch.basic_recover(m.requeue)
    return C.Basic.RecoverOk()


def _basic_recover_async(ch: Channel, m: Any) -> Reply:
    ch.basic_recover(m.requeue)
    return None


def _confirm_select(ch: Channel, m: Any) -> Reply:
    ch.confirm_select()
    return _ok(m.nowait, C.Confirm.SelectOk())


def _tx_select(ch: Channel, m: Any) -> Reply:
    ch.tx_select()
    return C.Tx.SelectOk()


def _tx_commit(ch: Channel, m: Any) -> Reply:
    ch.tx_commit()
    return C.Tx.CommitOk()


def _tx_rollback(ch: Channel, m: Any) -> Reply:
    ch.tx_rollback()
    return C.Tx.RollbackOk()


def _channel_flow(ch: Channel, m: Any) -> Reply:
    return C.Channel.FlowOk(active=ch.flow(m.active))


# basic.publish is run by the channel layer (_channels.py): it also hands the
# core the client's encoded content header.
HANDLERS: dict[type[base.Frame], Handler] = {
    C.Channel.Flow: _channel_flow,
    C.Exchange.Declare: _exchange_declare,
    C.Exchange.Delete: _exchange_delete,
    C.Exchange.Bind: _exchange_bind,
    C.Exchange.Unbind: _exchange_unbind,
    C.Queue.Declare: _queue_declare,
    C.Queue.Bind: _queue_bind,
    C.Queue.Unbind: _queue_unbind,
    C.Queue.Purge: _queue_purge,
    C.Queue.Delete: _queue_delete,
    C.Basic.Qos: _basic_qos,
    C.Basic.Consume: _basic_consume,
    C.Basic.Cancel: _basic_cancel,
    C.Basic.Get: _basic_get,
    C.Basic.Ack: _basic_ack,
    C.Basic.Nack: _basic_nack,
    C.Basic.Reject: _basic_reject,
    C.Basic.Recover: _basic_recover,
    C.Basic.RecoverAsync: _basic_recover_async,
    C.Confirm.Select: _confirm_select,
    C.Tx.Select: _tx_select,
    C.Tx.Commit: _tx_commit,
    C.Tx.Rollback: _tx_rollback,
}

#: Methods that carry content when a client sends them (all but publish are server-only).
CLIENT_CONTENT_METHODS: frozenset[type[base.Frame]] = frozenset(
    {C.Basic.Publish, C.Basic.Deliver, C.Basic.GetOk, C.Basic.Return}
)
