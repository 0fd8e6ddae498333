"""Leave nothing behind on the shared RabbitMQ: what a test named with its prefix goes after it."""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.request

import amqp

MANAGEMENT = "http://127.0.0.1:15672"
AMQP_HOST = "127.0.0.1:5672"


def _names(kind: str, prefix: str) -> list[str]:
    request = urllib.request.Request(
        f"{MANAGEMENT}/api/{kind}/%2F?columns=name",
        headers={"authorization": "Basic " + base64.b64encode(b"guest:guest").decode()},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return [item["name"] for item in json.load(response) if item["name"].startswith(prefix)]


def delete_prefixed(prefix: str) -> None:
    """Delete queues and exchanges in vhost / whose names start with ``prefix``.

    Through the management API when it is on (every name the test derived from its
    prefix), else the queue and exchange called exactly ``prefix`` over AMQP.
    """
    try:
        queues, exchanges = _names("queues", prefix), _names("exchanges", prefix)
    except OSError:
        queues = exchanges = [prefix]
    with contextlib.suppress(Exception):
        conn = amqp.Connection(host=AMQP_HOST, connect_timeout=5)
        conn.connect()
        try:
            for kind, names in (("queue", queues), ("exchange", exchanges)):
                for name in names:
                    channel = conn.channel()
                    with contextlib.suppress(amqp.exceptions.AMQPError):
                        getattr(channel, f"{kind}_delete")(name)
                        channel.close()
        finally:
            conn.close()


__all__ = ["delete_prefixed"]
