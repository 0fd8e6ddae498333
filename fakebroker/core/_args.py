"""Declaration arguments: validation and RabbitMQ's equivalence check on redeclare.

RabbitMQ checks only the arguments it knows (``x-foo`` may differ freely);
numeric types are compatible with each other; a difference is 406
``inequivalent arg 'K' for queue 'q' in vhost '/': received ... but current is ...``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import _replies as R
from ._routing import amqp_type, erlang_float
from .errors import AMQPChannelError

#: The arguments each queue type takes, in the order RabbitMQ 3.10.8 compares them when a
#: queue of that type is declared again (probed: the queue type's ``queue_arguments``).
QUEUE_TYPE_ARGS: dict[str, tuple[str, ...]] = {
    "classic": (
        "x-expires",
        "x-message-ttl",
        "x-dead-letter-exchange",
        "x-dead-letter-routing-key",
        "x-max-length",
        "x-max-length-bytes",
        "x-max-priority",
        "x-overflow",
        "x-queue-mode",
        "x-single-active-consumer",
        "x-queue-type",
        "x-queue-master-locator",
    ),
    "quorum": (
        "x-dead-letter-exchange",
        "x-dead-letter-routing-key",
        "x-dead-letter-strategy",
        "x-expires",
        "x-max-length",
        "x-max-length-bytes",
        "x-max-in-memory-length",
        "x-max-in-memory-bytes",
        "x-overflow",
        "x-single-active-consumer",
        "x-queue-type",
        "x-quorum-initial-group-size",
        "x-delivery-limit",
        "x-message-ttl",
        "x-queue-leader-locator",
    ),
}
EXCHANGE_EQUIVALENCE_ARGS = ("alternate-exchange",)

OVERFLOW_MODES = ("drop-head", "reject-publish", "reject-publish-dlx")


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float):
        return erlang_float(value)
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
        # RabbitMQ compares within a type class: integers with integers, floats with floats
        return isinstance(a, float) == isinstance(b, float) and bool(a == b)
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
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Raise 406 for the first known argument that differs.

    ``defaults`` are the values an absent argument compares as (RabbitMQ 3.10
    takes a missing ``x-queue-type`` for ``classic``), while the text still
    says ``none`` for the side that did not send it.
    """
    defaults = defaults or {}
    for key in keys:
        has_cur, has_new = key in current, key in received
        if not has_cur and not has_new:
            continue
        if key in defaults and _same(
            current.get(key, defaults[key]), received.get(key, defaults[key])
        ):
            continue
        if has_cur and has_new:
            if _same(current[key], received[key]):
                continue
            got, cur = f"'{_fmt_value(received[key])}'", f"'{_fmt_value(current[key])}'"
        else:
            got, cur = describe(received.get(key), has_new), describe(current.get(key), has_cur)
        raise R.inequivalent(key, kind, name, vhost, got, cur)


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


_TYPE_MODULES = {"classic": "rabbit_classic_queue", "quorum": "rabbit_quorum_queue"}

#: The largest x-message-ttl / x-expires RabbitMQ 3.10.8 accepts: ten years in ms (probed).
MAX_EXPIRY_MS = 315_360_000_000


def _int_arg(
    args: Mapping[str, Any],
    key: str,
    name: str,
    vhost: str,
    minimum: int | None,
    maximum: int | None = None,
) -> int | None:
    """``args[key]`` as an integer within bounds (None: no bound), or None when absent."""
    if key not in args:
        return None
    value = args[key]
    if not _numeric(value) or isinstance(value, float):
        raise _invalid(key, name, vhost, f'"expected integer, got {amqp_type(value)}"')
    if minimum is not None and value < minimum:
        reason = f"{{value_negative,{value}}}" if value < 0 else f"{{value_zero,{value}}}"
        raise _invalid(key, name, vhost, reason)
    if maximum is not None and value > maximum:
        raise _invalid(key, name, vhost, f"{{value_too_large,{value}}}")
    return int(value)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def _str_arg(args: Mapping[str, Any], key: str, name: str, vhost: str) -> str | None:
    if key not in args:
        return None
    text = _text(args[key])
    if text is None:
        raise _invalid(key, name, vhost, f"{{unacceptable_type,{amqp_type(args[key])}}}")
    return text


def _exchange_name_arg(args: Mapping[str, Any], key: str, name: str, vhost: str) -> str | None:
    if key not in args:
        return None
    text = _text(args[key])
    if text is None:
        raise R.invalid_arg(
            f"invalid type '{amqp_type(args[key])}' for arg '{key}' in queue '{name}' "
            f"in vhost '{vhost}'"
        )
    return text


def _enum_arg(
    args: Mapping[str, Any], key: str, name: str, vhost: str, allowed: tuple[str, ...], bad: str
) -> str | None:
    value = _str_arg(args, key, name, vhost)
    if value is not None and value not in allowed:
        raise _invalid(key, name, vhost, bad)
    return value


def _dlrk_arg(args: Mapping[str, Any], key: str, name: str, vhost: str) -> str | None:
    value = _str_arg(args, key, name, vhost)  # its type first, then whether there is a DLX
    if value is not None and "x-dead-letter-exchange" not in args:
        raise _invalid(key, name, vhost, "routing_key_but_no_dlx_defined")
    return value


def _priority_arg(args: Mapping[str, Any], key: str, name: str, vhost: str) -> int | None:
    priority = _int_arg(args, key, name, vhost, 0)
    if priority is not None and priority > 255:
        raise _invalid(key, name, vhost, f"{{max_value_exceeded,{priority}}}")
    return priority


def _sac_arg(args: Mapping[str, Any], key: str, name: str, vhost: str) -> bool:
    value = args[key]
    if not isinstance(value, bool):
        raise _invalid(key, name, vhost, f"{{unacceptable_type,{amqp_type(value)}}}")
    return value


_Check = Callable[[Mapping[str, Any], str, str, str], Any]


def _ints(minimum: int, maximum: int | None = None) -> _Check:
    return lambda args, key, name, vhost: _int_arg(args, key, name, vhost, minimum, maximum)


def _choice(allowed: tuple[str, ...], bad: str) -> _Check:
    return lambda args, key, name, vhost: _enum_arg(args, key, name, vhost, allowed, bad)


def _mode_arg(args: Mapping[str, Any], key: str, name: str, vhost: str) -> str | None:
    mode = _str_arg(args, key, name, vhost)
    if mode is not None and mode not in ("default", "lazy"):
        raise _invalid(key, name, vhost, f"\"unsupported queue mode '{mode}'\"")
    return mode


#: RabbitMQ 3.10.8's value checks of a new queue's arguments, in the order it runs them
#: (``rabbit_amqqueue:declare_args``, probed pairwise): the QueueArgs field each fills
#: (None: checked only), and the check. Only those the queue's type takes are run.
_DECLARE_CHECKS: tuple[tuple[str, str | None, _Check], ...] = (
    ("x-expires", "expires", _ints(1, MAX_EXPIRY_MS)),
    ("x-message-ttl", "message_ttl", _ints(0, MAX_EXPIRY_MS)),
    ("x-dead-letter-exchange", "dlx", _exchange_name_arg),
    ("x-dead-letter-routing-key", "dlrk", _dlrk_arg),
    (
        "x-dead-letter-strategy",
        None,
        _choice(("at-most-once", "at-least-once"), "invalid_dlx_strategy"),
    ),
    ("x-max-length", "max_length", _ints(0)),
    ("x-max-length-bytes", "max_length_bytes", _ints(0)),
    ("x-max-in-memory-length", None, _ints(0)),
    ("x-max-in-memory-bytes", None, _ints(0)),
    ("x-max-priority", "max_priority", _priority_arg),
    ("x-overflow", "overflow", _choice(OVERFLOW_MODES, "invalid_overflow")),
    ("x-queue-mode", None, _mode_arg),
    ("x-single-active-consumer", "single_active_consumer", _sac_arg),
    ("x-quorum-initial-group-size", None, _ints(1)),
    (
        "x-queue-leader-locator",
        None,
        _choice(
            ("client-local", "balanced", "random", "least-leaders"), "invalid_queue_locator_arg"
        ),
    ),
)
#: Every queue argument RabbitMQ 3.10.8 knows: one that a queue's type does not take is
#: refused ("... of queue type rabbit_classic_queue"); unknown ones (x-foo) are kept unread.
KNOWN_QUEUE_ARGS = frozenset(
    [key for key, _, _ in _DECLARE_CHECKS]
    + [key for keys in QUEUE_TYPE_ARGS.values() for key in keys]
    + ["x-max-age", "x-stream-max-segment-size-bytes", "x-initial-cluster-size"]
)


def parse_queue_args(name: str, vhost: str, args: Mapping[str, Any]) -> QueueArgs:
    """Validate and extract a new queue's arguments as RabbitMQ 3.10.8 does (406 on a bad one).

    The order decides which of two bad arguments is named: x-queue-type first, then the
    values of the arguments the type takes (in RabbitMQ's order, not the table's), then the
    arguments the type does not take (in the table's order). x-dead-letter-exchange's type is
    checked before all of these, by the vhost (RabbitMQ's channel does it).
    """
    parsed = QueueArgs()
    queue_type = _str_arg(args, "x-queue-type", name, vhost) or "classic"
    if queue_type not in QUEUE_TYPE_ARGS:
        raise R.unsupported_queue_type(queue_type, name, vhost)
    parsed.queue_type = queue_type
    takes = QUEUE_TYPE_ARGS[queue_type]
    for key, attr, check in _DECLARE_CHECKS:
        if key in args and key in takes:
            value = check(args, key, name, vhost)
            if attr is not None:
                setattr(parsed, attr, value)
    for key in args:
        if key in KNOWN_QUEUE_ARGS and key not in takes:
            raise R.invalid_arg(
                f"invalid arg '{key}' for queue '{name}' in vhost '{vhost}' "
                f"of queue type {_TYPE_MODULES[queue_type]}"
            )
    limit = args.get("x-delivery-limit")  # not checked: a non-integer is no limit
    if isinstance(limit, int) and not isinstance(limit, bool):
        parsed.delivery_limit = limit
    return parsed


def check_dlx_type(name: str, vhost: str, args: Mapping[str, Any]) -> None:
    """406 for a non-string x-dead-letter-exchange (RabbitMQ's channel: before the rest)."""
    _exchange_name_arg(args, "x-dead-letter-exchange", name, vhost)


_EXPIRATION = re.compile(r"([+-]?)([0-9]+)(.*)", re.DOTALL)


def check_expiration(expiration: Any) -> None:
    """406 for a basic.publish ``expiration`` RabbitMQ 3.10.8 refuses (texts probed).

    The value is read as Erlang's ``string:to_integer`` does: an optional sign
    and digits at the very start, nothing after them.
    """
    if expiration is None:
        return
    text = _text(expiration) or ""
    match = _EXPIRATION.fullmatch(text)
    if match is None:
        reason = "no_integer"
    elif match.group(3):
        reason = f'{{leftover_string,"{match.group(3)}"}}'
    else:
        value = int(match.group(1) + match.group(2))
        if value < 0:
            reason = f"{{value_negative,{value}}}"
        elif value > MAX_EXPIRY_MS:
            reason = f"{{value_too_large,{value}}}"
        else:
            return
    raise R.invalid_arg(f"invalid expiration '{text}': {reason}")


def check_consumer_args(name: str, vhost: str, arguments: Mapping[str, Any]) -> None:
    """basic.consume's arguments, checked as RabbitMQ 3.10 does (x-priority first)."""
    _int_arg(arguments, "x-priority", name, vhost, None)  # any size, negative too
    if "x-cancel-on-ha-failover" in arguments:
        value = arguments["x-cancel-on-ha-failover"]
        if not isinstance(value, bool):
            reason = f"{{unacceptable_type,{amqp_type(value)}}}"
            raise _invalid("x-cancel-on-ha-failover", name, vhost, reason)
