"""URLs of fakebroker's brokers: ``amqp://`` for sockets, ``fakebroker://`` in-process.

One builder and one parser for ``amqp://`` URLs, so every front and fixture
spells a vhost the same way: percent-encoded as RabbitMQ's URI spec says
(``%2F`` for "/"), which kombu, Celery, pika and aio-pika all read alike
(pika reads ``//`` as the vhost "").
"""

from __future__ import annotations

from typing import TypedDict
from urllib.parse import quote, unquote, urlsplit

__all__ = ["AMQPParts", "amqp_url", "dialable", "fakebroker_url", "parse_amqp_url"]

DEFAULT_PORT = 5672


class AMQPParts(TypedDict):
    """What an ``amqp://`` URL names."""

    host: str
    port: int
    user: str
    password: str
    vhost: str


def dialable(host: str) -> str:
    """The address a client dials for a server bound to ``host`` (a wildcard means loopback)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def amqp_url(
    *,
    host: str,
    port: int,
    vhost: str = "/",
    user: str | None = "guest",
    password: str = "guest",
    scheme: str = "amqp",
) -> str:
    """``amqp://USER:PASSWORD@HOST:PORT/VHOST``, the vhost percent-encoded ("/" is ``%2F``).

    ``user=None`` leaves the credentials out.
    """
    host = dialable(host)
    netloc_host = f"[{host}]" if ":" in host else host
    credentials = "" if user is None else f"{quote(user, safe='')}:{quote(password, safe='')}@"
    return f"{scheme}://{credentials}{netloc_host}:{port}/{quote(vhost, safe='')}"


def parse_amqp_url(url: str) -> AMQPParts:
    """host, port, user, password and vhost of an ``amqp://`` URL (RabbitMQ's defaults)."""
    parts = urlsplit(url)
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or DEFAULT_PORT,
        "user": unquote(parts.username or "guest"),
        "password": unquote(parts.password or "guest"),
        "vhost": unquote(path) if path else "/",
    }


def fakebroker_url(
    name: str, *, vhost: str = "/", user: str = "guest", password: str = "guest"
) -> str:
    """The in-process URL ``fakebroker://[USER:PASSWORD@]NAME/VHOST`` (``//`` for "/")."""
    credentials = (
        ""
        if (user, password) == ("guest", "guest")
        else f"{quote(user, safe='')}:{quote(password, safe='')}@"
    )
    path = "/" if vhost == "/" else quote(vhost, safe="")
    return f"fakebroker://{credentials}{name}/{path}"
