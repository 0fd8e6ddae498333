"""Sender-selected distribution: the CC and BCC headers add routing keys.

RabbitMQ 3.10 (probed, docs/rabbitmq-facts.md section 31): a message whose
headers hold ``CC`` and/or ``BCC`` arrays is routed with its routing key and
every long-string element of those arrays, all at once (an alternate
exchange only when none of them routes); ``BCC`` is removed before the
message is stored; a ``CC`` or ``BCC`` that is not an array is 406
``invalid message: {unacceptable_type_in_header,"CC",longstr}``.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import _replies as R
from ._routing import amqp_type
from .message import Properties

__all__ = ["sender_selected"]

ROUTING_HEADERS = ("CC", "BCC")


def sender_selected(props: Properties) -> tuple[tuple[str, ...], Properties]:
    """(the extra routing keys, the properties as stored: without BCC); 406 on a bad type."""
    headers = props.get("headers")
    if not isinstance(headers, Mapping) or not any(h in headers for h in ROUTING_HEADERS):
        return (), props
    keys: list[str] = []
    for name in ROUTING_HEADERS:
        if name not in headers:
            continue
        value = headers[name]
        if not isinstance(value, list):
            detail = f'{{unacceptable_type_in_header,"{name}",{amqp_type(value)}}}'
            raise R.invalid_message(detail)
        keys.extend(_key(item) for item in value if isinstance(item, (str, bytes)))
    if "BCC" in headers:
        props = {**props, "headers": {k: v for k, v in headers.items() if k != "BCC"}}
    return tuple(keys), props


def _key(item: str | bytes) -> str:
    return item if isinstance(item, str) else item.decode("utf-8", "surrogateescape")
