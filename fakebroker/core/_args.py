"""Declaration arguments: validation and RabbitMQ's equivalence check on redeclare.

RabbitMQ checks only the arguments it knows (``x-foo`` may differ freely);
numeric types are compatible with each other; a difference is 406
``inequivalent arg 'K' for queue 'q' in vhost '/': received ... but current is ...``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import _replies as R
from .errors import AMQPChannelError

#: Queue arguments whose value RabbitMQ 3.10 compares on redeclare.
QUEUE_EQUIVALENCE_ARGS = (
    "x-expires",
    "x-message-ttl",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-max-length",
    "x-max-length-bytes",
    "x-max-in-memory-length",
    "x-max-in-memory-bytes",
    "x-max-priority",
    "x-overflow",
    "x-queue-mode",
    "x-single-active-consumer",
    "x-queue-type",
    "x-quorum-initial-group-size",
    "x-delivery-limit",
)
EXCHANGE_EQUIVALENCE_ARGS = ("alternate-exchange",)

OVERFLOW_MODES = ("drop-head", "reject-publish", "reject-publish-dlx")


def amqp_type(value: Any) -> str:
    """The AMQP field-table type name RabbitMQ would report for a decoded value."""
    if value is None:
        return "void"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "signedint" if -(2**31) <= value < 2**31 else "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, (str, bytes)):
        return "longstr"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, (list, tuple)):
        return "array"
    return "timestamp"


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def describe(value: Any, present: bool = True) -> str:
    """RabbitMQ's rendering of an argument value in an inequivalence text."""
    if not present:
        return "none"
    return f"the value '{_fmt_value(value)}' of type '{amqp_type(value)}'"


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    if _numeric(a) and _numeric(b):
        return bool(a == b)
    if type(a) is not type(b) and not (isinstance(a, (str, bytes)) and isinstance(b, (str, bytes))):
        return False
    if isinstance(a, bytes) or isinstance(b, bytes):
        a = a.decode() if isinstance(a, bytes) else a
        b = b.decode() if isinstance(b, bytes) else b
    return bool(a == b)


def check_args_equivalence(
    kind: str,
    name: str,
    vhost: str,
    current: Mapping[str, Any],
    received: Mapping[str, Any],
    keys: tuple[str, ...],
) -> None:
    """Raise 406 for the first known argument that differs."""
    for key in keys:
        has_cur, has_new = key in current, key in received
        if not has_cur and not has_new:
            continue
        if has_cur and has_new and _same(current[key], received[key]):
            continue
        raise R.inequivalent(
            key,
            kind,
            name,
            vhost,
            describe(received.get(key), has_new),
            describe(current.get(key), has_cur),
        )


def check_flag(kind: str, name: str, vhost: str, flag: str, current: bool, received: bool) -> None:
    """Raise 406 when a boolean property (durable, auto_delete, ...) differs."""
    if current != received:
        raise R.inequivalent(
            flag,
            kind,
            name,
            vhost,
            f"'{_fmt_value(received)}'",
            f"'{_fmt_value(current)}'",
        )


@dataclass(slots=True)
class QueueArgs:
    """The queue arguments the core acts on, validated."""

    queue_type: str = "classic"
    message_ttl: int | None = None
    expires: int | None = None
    max_length: int | None = None
    max_length_bytes: int | None = None
    overflow: str = "drop-head"
    dlx: str | None = None
    dlrk: str | None = None
    max_priority: int | None = None
    single_active_consumer: bool = False
    delivery_limit: int | None = None


def _invalid(key: str, name: str, vhost: str, reason: str) -> AMQPChannelError:
    return R.invalid_arg(f"invalid arg '{key}' for queue '{name}' in vhost '{vhost}': {reason}")


def _int_arg(args: Mapping[str, Any], key: str, name: str, vhost: str, minimum: int) -> int | None:
    if key not in args:
        return None
    value = args[key]
    if not _numeric(value) or isinstance(value, float):
        raise _invalid(key, name, vhost, f"{{unacceptable_type,{amqp_type(value)}}}")
    if value < minimum:
        reason = f"{{value_negative,{value}}}" if value < 0 else f"{{value_zero,{value}}}"
        raise _invalid(key, name, vhost, reason)
    return int(value)


def _str_arg(args: Mapping[str, Any], key: str, name: str, vhost: str) -> str | None:
    if key not in args:
        return None
    value = args[key]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise _invalid(key, name, vhost, f"{{unacceptable_type,{amqp_type(value)}}}")
    return value


def parse_queue_args(name: str, vhost: str, args: Mapping[str, Any]) -> QueueArgs:
    """Validate and extract the arguments of a queue declaration (406 on a bad one)."""
    parsed = QueueArgs()
    parsed.queue_type = _str_arg(args, "x-queue-type", name, vhost) or "classic"
    parsed.message_ttl = _int_arg(args, "x-message-ttl", name, vhost, 0)
    parsed.expires = _int_arg(args, "x-expires", name, vhost, 1)
    parsed.max_length = _int_arg(args, "x-max-length", name, vhost, 0)
    parsed.max_length_bytes = _int_arg(args, "x-max-length-bytes", name, vhost, 0)
    parsed.delivery_limit = _int_arg(args, "x-delivery-limit", name, vhost, 0)
    overflow = _str_arg(args, "x-overflow", name, vhost)
    if overflow is not None:
        if overflow not in OVERFLOW_MODES:
            raise _invalid("x-overflow", name, vhost, f'{{unacceptable_value,<<"{overflow}">>}}')
        parsed.overflow = overflow
    parsed.dlx = _str_arg(args, "x-dead-letter-exchange", name, vhost)
    parsed.dlrk = _str_arg(args, "x-dead-letter-routing-key", name, vhost)
    priority = _int_arg(args, "x-max-priority", name, vhost, 0)
    if priority is not None and priority > 255:
        raise _invalid("x-max-priority", name, vhost, f"{{value_too_large,{priority},255}}")
    parsed.max_priority = priority
    sac = args.get("x-single-active-consumer", False)
    if not isinstance(sac, bool):
        raise _invalid(
            "x-single-active-consumer", name, vhost, f"{{unacceptable_type,{amqp_type(sac)}}}"
        )
    parsed.single_active_consumer = sac
    return parsed
