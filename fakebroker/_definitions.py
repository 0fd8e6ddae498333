"""RabbitMQ definitions (the management plugin's JSON export) applied to a core broker.

Supported keys: ``vhosts``, ``users`` (with ``tags``), ``permissions``,
``topic_permissions``, ``exchanges``, ``queues`` and ``bindings``; ``policies``
and ``parameters`` are ignored with a warning.  As on RabbitMQ, a user
imported here may do only what ``permissions`` grants it (none: it cannot open
a connection); users named on the command line afterwards may do anything.  Topology is
declared through the core's channel API on an internal connection per
vhost, so it gets the same checks a client's declarations would.  Users
take ``password_hash`` (with ``hashing_algorithm``) as RabbitMQ exports
them, or a plain ``password`` (a fakebroker extension).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Broker, Channel

__all__ = ["DefinitionsError", "apply_definitions", "load_definitions"]

_UNSUPPORTED = (
    "policies",
    "parameters",
    "global_parameters",
    "operator_policies",
)
log = logging.getLogger("fakebroker")
#: The definitions are applied as RabbitMQ's own internal user, whom permissions do not bind.
INTERNAL_USER = "rmq-internal"
_DEFAULT_EXCHANGES = ("", "amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match")


class DefinitionsError(ValueError):
    """The definitions file is unreadable or the broker refused part of it."""


def load_definitions(path: str) -> dict[str, Any]:
    """Read a definitions JSON file."""
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except json.JSONDecodeError as exc:
        raise DefinitionsError(f"{path}: not valid JSON ({exc})") from exc
    except OSError as exc:
        raise DefinitionsError(f"{path}: {exc.strerror or exc}") from exc
    if not isinstance(data, dict):
        raise DefinitionsError(f"{path}: expected a JSON object")
    return data


def apply_definitions(broker: Broker, definitions: Mapping[str, Any]) -> None:
    """Create the vhosts, users, exchanges, queues and bindings ``definitions`` lists.

    The caller holds the node's lock (or the broker is not served yet).
    """
    for key in _UNSUPPORTED:
        if definitions.get(key):
            print(f"fakebroker: definitions: '{key}' are not supported; ignored", file=sys.stderr)
    for vhost in _items(definitions, "vhosts"):
        broker.add_vhost(str(vhost["name"]))
    for user in _items(definitions, "users"):
        _add_user(broker, user)
    for permission in _items(definitions, "permissions"):
        _set_permission(broker, permission)
    for topic in _items(definitions, "topic_permissions"):
        _set_topic_permission(broker, topic)
    for user in _items(definitions, "users"):
        _warn_if_locked_out(broker, str(user["name"]))
    for name in _vhosts_used(definitions):
        _declare_topology(broker, name, definitions)


def _items(definitions: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    items = definitions.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise DefinitionsError(f"'{key}' must be a list of objects")
    return items


def _tags(user: Mapping[str, Any]) -> tuple[str, ...]:
    tags = user.get("tags") or ()
    if isinstance(tags, str):  # RabbitMQ 3.8 and older export "administrator,management"
        tags = [t for t in tags.split(",") if t]
    return tuple(str(t) for t in tags)


def _add_user(broker: Broker, user: Mapping[str, Any]) -> None:
    from .core import DEFAULT_HASHING_ALGORITHM
    from .core import HASHING_ALGORITHMS as ALGORITHMS

    name = str(user["name"])
    password = user.get("password")
    password_hash = user.get("password_hash")
    tags = _tags(user)
    if password is not None:
        broker.add_user(name, str(password), tags=tags, restricted=True)
    elif password_hash:
        algorithm = str(user.get("hashing_algorithm") or DEFAULT_HASHING_ALGORITHM)
        if algorithm not in ALGORITHMS:
            log.warning(
                "definitions: user '%s' has hashing_algorithm '%s', which fakebroker does "
                "not know (%s): it can never log in",
                name,
                algorithm,
                ", ".join(ALGORITHMS),
            )
        broker.add_user(
            name,
            password_hash=str(password_hash),
            hashing_algorithm=algorithm,
            tags=tags,
            restricted=True,
        )
    else:
        print(f"fakebroker: user {name!r} has no password; skipped", file=sys.stderr)


def _set_permission(broker: Broker, item: Mapping[str, Any]) -> None:
    user, vhost = str(item["user"]), str(item.get("vhost", "/"))
    if not broker.has_vhost(vhost):
        raise DefinitionsError(f"permissions of user {user!r} name vhost {vhost!r}, not defined")
    try:
        broker.set_permissions(
            user,
            vhost,
            configure=str(item.get("configure", "")),
            write=str(item.get("write", "")),
            read=str(item.get("read", "")),
        )
    except ValueError as exc:
        raise DefinitionsError(f"permissions of user {user!r} on {vhost!r}: {exc}") from exc


def _set_topic_permission(broker: Broker, item: Mapping[str, Any]) -> None:
    """One entry of RabbitMQ's export: user, vhost, exchange, write, read."""
    user, vhost = str(item["user"]), str(item.get("vhost", "/"))
    if not broker.has_vhost(vhost):
        raise DefinitionsError(
            f"topic permissions of user {user!r} name vhost {vhost!r}, not defined"
        )
    try:
        broker.set_topic_permissions(
            user,
            vhost,
            exchange=str(item["exchange"]),
            write=str(item.get("write", "")),
            read=str(item.get("read", "")),
        )
    except (KeyError, ValueError) as exc:
        raise DefinitionsError(f"topic permissions of user {user!r} on {vhost!r}: {exc}") from exc


def _warn_if_locked_out(broker: Broker, user: str) -> None:
    if broker.has_user(user) and broker.permissions.of(user) == {}:
        log.warning(
            "definitions: user '%s' has no permissions on any vhost: it cannot open a "
            "connection (add a 'permissions' entry, or name it with --user)",
            user,
        )


def _vhosts_used(definitions: Mapping[str, Any]) -> list[str]:
    seen: dict[str, None] = {}
    for key in ("exchanges", "queues", "bindings"):
        for item in _items(definitions, key):
            seen[str(item.get("vhost", "/"))] = None
    return list(seen)


def _declare_topology(broker: Broker, vhost: str, definitions: Mapping[str, Any]) -> None:
    from .core import AMQPError

    if not broker.has_vhost(vhost):
        raise DefinitionsError(f"vhost {vhost!r} is used but not defined")
    conn = broker.connect(vhost=vhost, user=INTERNAL_USER, name="fakebroker definitions")
    try:
        channel = conn.open_channel(1)
        for kind, apply in (
            ("exchanges", _declare_exchange),
            ("queues", _declare_queue),
            ("bindings", _declare_binding),
        ):
            for item in _items(definitions, kind):
                if str(item.get("vhost", "/")) == vhost:
                    try:
                        apply(channel, item)
                    except AMQPError as exc:
                        raise DefinitionsError(f"{kind} in vhost {vhost!r}: {exc}") from exc
    finally:
        conn.close()


def _declare_exchange(channel: Channel, item: Mapping[str, Any]) -> None:
    name = str(item["name"])
    if name in _DEFAULT_EXCHANGES:
        return
    channel.exchange_declare(
        name,
        type=str(item.get("type", "direct")),
        durable=bool(item.get("durable", True)),
        auto_delete=bool(item.get("auto_delete", False)),
        internal=bool(item.get("internal", False)),
        arguments=dict(item.get("arguments") or {}),
    )


def _declare_queue(channel: Channel, item: Mapping[str, Any]) -> None:
    channel.queue_declare(
        str(item["name"]),
        durable=bool(item.get("durable", True)),
        auto_delete=bool(item.get("auto_delete", False)),
        arguments=dict(item.get("arguments") or {}),
    )


def _declare_binding(channel: Channel, item: Mapping[str, Any]) -> None:
    source = str(item["source"])
    destination = str(item["destination"])
    routing_key = str(item.get("routing_key", ""))
    arguments = dict(item.get("arguments") or {})
    if item.get("destination_type", "queue") == "exchange":
        channel.exchange_bind(destination, source, routing_key, arguments)
    else:
        channel.queue_bind(destination, source, routing_key, arguments)
