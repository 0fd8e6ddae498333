"""Every reply text the core sends, in one place, worded as RabbitMQ 3.10 words them.

Each function returns an exception ready to raise; the text is the part after
RabbitMQ's ``NAME - `` prefix (see :attr:`AMQPError.reply_text`).
"""

from __future__ import annotations

from typing import Any

from .errors import AMQPChannelError, AMQPConnectionError, ReplyCode

C = ReplyCode


def _res(kind: str, name: str, vhost: str) -> str:
    return f"{kind} '{name}' in vhost '{vhost}'"


def not_found(kind: str, name: str, vhost: str) -> AMQPChannelError:
    return AMQPChannelError(C.NOT_FOUND, f"no {_res(kind, name, vhost)}")


def system_exchange(name: str, vhost: str) -> AMQPChannelError:
    return AMQPChannelError(
        C.ACCESS_REFUSED, f"deletion of system {_res('exchange', name, vhost)} not allowed"
    )


def reserved_prefix(kind: str, name: str, vhost: str) -> AMQPChannelError:
    return AMQPChannelError(
        C.ACCESS_REFUSED,
        f"{kind} name '{name}' contains reserved prefix 'amq.*'",
    )


def default_exchange_op() -> AMQPChannelError:
    return AMQPChannelError(C.ACCESS_REFUSED, "operation not permitted on the default exchange")


def internal_exchange(name: str, vhost: str) -> AMQPChannelError:
    return AMQPChannelError(
        C.ACCESS_REFUSED, f"cannot publish to internal {_res('exchange', name, vhost)}"
    )


def inequivalent(
    what: str, kind: str, name: str, vhost: str, received: Any, current: Any
) -> AMQPChannelError:
    return AMQPChannelError(
        C.PRECONDITION_FAILED,
        f"inequivalent arg '{what}' for {_res(kind, name, vhost)}: "
        f"received {received} but current is {current}",
    )


def resource_locked(name: str, vhost: str) -> AMQPChannelError:
    return AMQPChannelError(
        C.RESOURCE_LOCKED,
        f"cannot obtain exclusive access to locked {_res('queue', name, vhost)}. It could be "
        "originally declared on another connection or the exclusive property value does not "
        "match that of the original declaration.",
    )


def in_use(kind: str, name: str, vhost: str) -> AMQPChannelError:
    return AMQPChannelError(C.PRECONDITION_FAILED, f"{_res(kind, name, vhost)} in use")


def not_empty(name: str, vhost: str) -> AMQPChannelError:
    return AMQPChannelError(C.PRECONDITION_FAILED, f"{_res('queue', name, vhost)} not empty")


def unknown_delivery_tag(tag: int) -> AMQPChannelError:
    return AMQPChannelError(C.PRECONDITION_FAILED, f"unknown delivery tag {tag}")


def not_implemented(text: str) -> AMQPConnectionError:
    return AMQPConnectionError(C.NOT_IMPLEMENTED, text)


def immediate() -> AMQPConnectionError:
    return AMQPConnectionError(C.NOT_IMPLEMENTED, "immediate=true")


def invalid_exchange_type(type_: str) -> AMQPConnectionError:
    return AMQPConnectionError(C.COMMAND_INVALID, f"unknown exchange type '{type_}'")


def invalid_message(detail: str) -> AMQPChannelError:
    return AMQPChannelError(C.PRECONDITION_FAILED, f"invalid message: {detail}")


def invalid_arg(text: str) -> AMQPChannelError:
    return AMQPChannelError(C.PRECONDITION_FAILED, text)


def exclusive_consume_refused(name: str, vhost: str) -> AMQPChannelError:
    return AMQPChannelError(C.ACCESS_REFUSED, f"{_res('queue', name, vhost)} in exclusive use")


def reused_consumer_tag(tag: str) -> AMQPConnectionError:
    return AMQPConnectionError(C.NOT_ALLOWED, f"attempt to reuse consumer tag '{tag}'")


def prefetch_size(size: int) -> AMQPConnectionError:
    return AMQPConnectionError(C.NOT_IMPLEMENTED, f"prefetch_size!=0 ({size})")


def confirm_to_tx() -> AMQPChannelError:
    return AMQPChannelError(C.PRECONDITION_FAILED, "cannot switch from confirm to tx mode")


def tx_to_confirm() -> AMQPChannelError:
    return AMQPChannelError(C.PRECONDITION_FAILED, "cannot switch from tx to confirm mode")


def not_transactional() -> AMQPChannelError:
    return AMQPChannelError(C.PRECONDITION_FAILED, "channel is not transactional")


def access_refused(kind: str, name: str, vhost: str, user: str) -> AMQPChannelError:
    return AMQPChannelError(
        C.ACCESS_REFUSED, f"access to {_res(kind, name, vhost)} refused for user '{user}'"
    )


def topic_access_refused(
    routing_key: str, exchange: str, vhost: str, user: str
) -> AMQPChannelError:
    return AMQPChannelError(
        C.ACCESS_REFUSED,
        f"access to topic '{routing_key}' in {_res('exchange', exchange, vhost)} "
        f"refused for user '{user}'",
    )


def vhost_access_refused(vhost: str, user: str) -> AMQPConnectionError:
    return AMQPConnectionError(
        C.NOT_ALLOWED, f"access to vhost '{vhost}' refused for user '{user}'"
    )


def message_too_large(size: int, limit: int, cap: int) -> AMQPChannelError:
    configured = "" if limit == cap else "configured "  # RabbitMQ's words, even at the default
    return AMQPChannelError(
        C.PRECONDITION_FAILED, f"message size {size} is larger than {configured}max size {limit}"
    )


def user_id_mismatch(claimed: str, actual: str) -> AMQPChannelError:
    return AMQPChannelError(
        C.PRECONDITION_FAILED,
        f"user_id property set to '{claimed}' but authenticated user was '{actual}'",
    )


def vhost_not_found(vhost: str) -> AMQPConnectionError:
    return AMQPConnectionError(C.NOT_ALLOWED, f"vhost {vhost} not found")


def consumer_timeout(channel: int, timeout_ms: int) -> AMQPChannelError:
    return AMQPChannelError(
        C.PRECONDITION_FAILED,
        f"delivery acknowledgement on channel {channel} timed out. Timeout value used: "
        f"{timeout_ms} ms. This timeout value can be configured, see consumers doc guide "
        "to learn more",
    )


def forced_text(reason: str) -> str:
    """RabbitMQ's text when it closes connections itself (320 CONNECTION_FORCED)."""
    return f"broker forced connection closure with reason '{reason}'"


#: The reply text RabbitMQ gives clients when it shuts down.
SHUTDOWN_TEXT = forced_text("shutdown")


def forced(reason: str) -> AMQPConnectionError:
    return AMQPConnectionError(C.CONNECTION_FORCED, forced_text(reason))


def closed_via_management(text: str) -> AMQPConnectionError:
    return AMQPConnectionError(C.CONNECTION_FORCED, text)


def unsupported_queue_type(queue_type: str, name: str, vhost: str) -> AMQPChannelError:
    return AMQPChannelError(
        C.PRECONDITION_FAILED,
        f"invalid arg 'x-queue-type' for {_res('queue', name, vhost)}: "
        f"\"unsupported queue type '{queue_type}'\"",
    )


def invalid_property(prop: str, name: str, vhost: str) -> AMQPChannelError:
    return AMQPChannelError(
        C.PRECONDITION_FAILED, f"invalid property '{prop}' for {_res('queue', name, vhost)}"
    )


def server_named_quorum() -> AMQPChannelError:
    return AMQPChannelError(
        C.PRECONDITION_FAILED, "Cannot declare a server-named queue for type rabbit_quorum_queue"
    )


def no_previous_queue() -> AMQPChannelError:
    return AMQPChannelError(C.NOT_FOUND, "no previously declared queue")


NO_ROUTE_TEXT = "NO_ROUTE"
