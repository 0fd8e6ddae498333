"""Celery's task message protocol, version 2: building and parsing messages."""

from __future__ import annotations

import dataclasses
import os
import reprlib
import socket
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

__all__ = ["Request", "TaskMessage", "build_task_message", "parse_request", "to_timestamp"]

_REPR = reprlib.Repr()
_REPR.maxstring = 256
_REPR.maxother = 256
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = 64
_REPR_MAXSIZE = 1024

TimeSpec = float | datetime | str | None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TaskMessage:
    """A task message ready to publish: headers, properties, body, sent event."""

    headers: dict[str, Any]
    properties: dict[str, Any]
    body: tuple[list[Any], dict[str, Any], dict[str, Any]]
    sent_event: dict[str, Any]


def origin_name() -> str:
    """The ``origin`` header: the sending process, as ``gen<pid>@<host>``."""
    return f"gen{os.getpid()}@{socket.gethostname()}"


def safe_repr(value: object) -> str:
    """A bounded ``repr`` for the ``argsrepr`` / ``kwargsrepr`` headers."""
    text = _REPR.repr(value)
    return text if len(text) <= _REPR_MAXSIZE else text[: _REPR_MAXSIZE - 3] + "..."


def isoformat(timestamp: float | None) -> str | None:
    """Seconds since the epoch as an aware UTC ISO 8601 string."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat()


def to_timestamp(value: TimeSpec) -> float | None:
    """Seconds since the epoch from a timestamp, a datetime or an ISO 8601 string.

    Naive datetimes are taken as UTC, as Celery does with ``enable_utc``.
    """
    if value is None or isinstance(value, (int, float)):
        return None if value is None else float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def build_task_message(
    *,
    task_id: str,
    name: str,
    args: Sequence[Any] | None,
    kwargs: Mapping[str, Any] | None,
    now: float,
    countdown: float | None = None,
    eta: TimeSpec = None,
    expires: TimeSpec = None,
    retries: int = 0,
    reply_to: str | None = None,
    root_id: str | None = None,
    parent_id: str | None = None,
    group_id: str | None = None,
    group_index: int | None = None,
    shadow: str | None = None,
    ignore_result: bool = False,
    time_limit: float | None = None,
    soft_time_limit: float | None = None,
    embed: Mapping[str, Any] | None = None,
) -> TaskMessage:
    """Build a protocol 2 message (as ``celery.app.amqp.AMQP.as_task_v2`` sends)."""
    args = list(args or ())
    kwargs = dict(kwargs or {})
    if countdown:
        eta = now + float(countdown)
    if isinstance(expires, (int, float)):
        expires = now + float(expires)
    eta_s, expires_s = isoformat(to_timestamp(eta)), isoformat(to_timestamp(expires))
    argsrepr, kwargsrepr = safe_repr(args), safe_repr(kwargs)
    root_id = root_id or task_id
    headers: dict[str, Any] = {
        "lang": "py",
        "task": name,
        "id": task_id,
        "shadow": shadow,
        "eta": eta_s,
        "expires": expires_s,
        "group": group_id,
        "group_index": group_index,
        "retries": retries,
        "timelimit": [time_limit, soft_time_limit],
        "root_id": root_id,
        "parent_id": parent_id,
        "argsrepr": argsrepr,
        "kwargsrepr": kwargsrepr,
        "origin": origin_name(),
        "ignore_result": ignore_result,
        "replaced_task_nesting": 0,
        "stamped_headers": None,
        "stamps": {},
    }
    embed = dict(embed or {})
    body_embed = {key: embed.get(key) for key in ("callbacks", "errbacks", "chain", "chord")}
    sent_event = {
        "uuid": task_id,
        "root_id": root_id,
        "parent_id": parent_id,
        "name": name,
        "args": argsrepr,
        "kwargs": kwargsrepr,
        "retries": retries,
        "eta": eta_s,
        "expires": expires_s,
    }
    return TaskMessage(
        headers=headers,
        properties={"correlation_id": task_id, "reply_to": reply_to or ""},
        body=(args, kwargs, body_embed),
        sent_event=sent_event,
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Request:
    """A task request parsed from a delivered message (protocol 2, or 1)."""

    id: str
    name: str
    args: list[Any]
    kwargs: dict[str, Any]
    embed: dict[str, Any]
    retries: int = 0
    eta: float | None = None
    expires: float | None = None
    reply_to: str | None = None
    correlation_id: str | None = None
    root_id: str | None = None
    parent_id: str | None = None
    group: str | None = None
    group_index: int | None = None
    ignore_result: bool = False
    timelimit: tuple[float | None, float | None] = (None, None)
    origin: str | None = None
    headers: dict[str, Any] = dataclasses.field(default_factory=dict)
    properties: dict[str, Any] = dataclasses.field(default_factory=dict)
    delivery_info: dict[str, Any] = dataclasses.field(default_factory=dict)


def parse_request(
    *,
    headers: Mapping[str, Any] | None,
    properties: Mapping[str, Any],
    payload: Any,
    delivery_info: Mapping[str, Any],
) -> Request:
    """Parse a decoded message into a :class:`Request` (raises ``ValueError``)."""
    headers = dict(headers or {})
    if "task" in headers:
        return _parse_v2(headers, dict(properties), payload, dict(delivery_info))
    if isinstance(payload, Mapping) and "task" in payload:
        return _parse_v1(headers, dict(properties), dict(payload), dict(delivery_info))
    raise ValueError("not a task message: no 'task' header and no protocol 1 body")


def _parse_v2(
    headers: dict[str, Any], props: dict[str, Any], payload: Any, info: dict[str, Any]
) -> Request:
    if not isinstance(payload, (list, tuple)) or len(payload) != 3:
        raise ValueError("protocol 2 body must be [args, kwargs, embed]")
    args, kwargs, embed = payload
    limits = headers.get("timelimit") or (None, None)
    return Request(
        id=str(headers["id"]),
        name=str(headers["task"]),
        args=list(args or ()),
        kwargs=dict(kwargs or {}),
        embed=dict(embed or {}),
        retries=int(headers.get("retries") or 0),
        eta=to_timestamp(headers.get("eta")),
        expires=to_timestamp(headers.get("expires")),
        reply_to=props.get("reply_to") or None,
        correlation_id=props.get("correlation_id") or None,
        root_id=headers.get("root_id"),
        parent_id=headers.get("parent_id"),
        group=headers.get("group"),
        group_index=headers.get("group_index"),
        ignore_result=bool(headers.get("ignore_result", False)),
        timelimit=(limits[0], limits[1]),
        origin=headers.get("origin"),
        headers=headers,
        properties=props,
        delivery_info=info,
    )


def _parse_v1(
    headers: dict[str, Any], props: dict[str, Any], body: dict[str, Any], info: dict[str, Any]
) -> Request:
    embed = {"callbacks": body.get("callbacks"), "errbacks": body.get("errbacks")}
    embed.update(chain=None, chord=body.get("chord"))
    return Request(
        id=str(body["id"]),
        name=str(body["task"]),
        args=list(body.get("args") or ()),
        kwargs=dict(body.get("kwargs") or {}),
        embed=embed,
        retries=int(body.get("retries") or 0),
        eta=to_timestamp(body.get("eta")),
        expires=to_timestamp(body.get("expires")),
        reply_to=props.get("reply_to") or None,
        correlation_id=props.get("correlation_id") or None,
        group=body.get("taskset"),
        headers=headers,
        properties=props,
        delivery_info=info,
    )
