"""Topic permissions: write and read regexes per user, vhost and topic exchange.

Each scenario makes a user with full permissions on ``/`` and a topic
permission on ``amq.topic`` (on RabbitMQ through the management API), then
records what the user's publishes and binds get. RabbitMQ checks them on
topic exchanges only: write against a publish's routing key, read against a
binding key (queue.bind's, and exchange.bind's on its source only);
``{username}`` and ``{vhost}`` are expanded.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import amqp

from ._harness import Backend
from .test_permissions import ALL, Users, _api
from .test_permissions import users as users  # the fixture: users made on either backend


def _topic_user(b: Backend, users: Users, *, write: str, read: str) -> str:
    name = users.make(ALL)
    if b.fake:
        with b.node.locked() as broker:
            broker.set_topic_permissions(name, "/", exchange="amq.topic", write=write, read=read)
    else:
        body = {"exchange": "amq.topic", "write": write, "read": read}
        _api("PUT", f"/api/topic-permissions/%2F/{quote(name)}", body)
    return name


def _refused(key: str, user: str, method: list[int]) -> dict[str, Any]:
    """RabbitMQ's channel.close for a topic permission that does not match ``key``."""
    return {
        "code": 403,
        "text": f"ACCESS_REFUSED - access to topic '{key}' in exchange 'amq.topic' in vhost '/' "
        f"refused for user '{user}'",
        "method": method,
        "closed": "channel",
    }


def test_publish_needs_write_on_the_routing_key(b: Backend, users: Users) -> None:
    """A routing key the write regex matches is published; another closes the channel 403."""
    name = _topic_user(b, users, write="^{username}\\.", read=".*")
    q = b.name("q")
    setup = b.channel()
    setup.queue_declare(q)
    setup.queue_bind(q, "amq.topic", f"{name}.#")
    ch = users.channel(name)
    ch.basic_publish(amqp.Message(b"mine"), "amq.topic", f"{name}.orders")
    b.expect("allowed", b.error(ch.basic_qos, 0, 1, False), {"ok": []})
    ch.basic_publish(amqp.Message(b"theirs"), "amq.topic", "other.orders")
    got = b.error(ch.basic_qos, 0, 1, False)
    b.expect("refused", got, _refused("other.orders", name, [60, 40]))
    b.expect("queued", setup.queue_declare(q, passive=True).message_count, 1)


def test_bind_needs_read_on_the_binding_key(b: Backend, users: Users) -> None:
    """queue.bind to a topic exchange checks the binding key against the read regex."""
    name = _topic_user(b, users, write=".*", read="^public\\.")
    q = b.name("q")
    b.channel().queue_declare(q)
    ch = users.channel(name)
    b.expect("allowed", b.error(ch.queue_bind, q, "amq.topic", "public.news"), {"ok": []})
    got = b.error(ch.queue_bind, q, "amq.topic", "private.news")
    b.expect("refused", got, _refused("private.news", name, [50, 20]))


def test_other_exchange_types_are_not_checked(b: Backend, users: Users) -> None:
    """A topic permission on amq.topic says nothing of amq.direct, even with the same name."""
    name = _topic_user(b, users, write="^$", read="^$")
    q = b.name("q")
    b.channel().queue_declare(q)
    ch = users.channel(name)
    b.expect("bind", b.error(ch.queue_bind, q, "amq.direct", "any.key"), {"ok": []})
    ch.basic_publish(amqp.Message(b"m"), "amq.direct", "any.key")
    b.expect("publish", b.error(ch.basic_qos, 0, 1, False), {"ok": []})


def test_exchange_bind_needs_read_on_the_binding_key_at_the_source(
    b: Backend, users: Users
) -> None:
    """exchange.bind/unbind check the binding key on a topic *source*; a topic destination not."""
    name = _topic_user(b, users, write=".*", read="^public\\.")
    dest, source = b.name("dest"), b.name("source")
    setup = b.channel()
    setup.exchange_declare(dest, "fanout", auto_delete=False)
    setup.exchange_declare(source, "direct", auto_delete=False)
    ch = users.channel(name)
    got = b.error(ch.exchange_bind, dest, "amq.topic", "public.news")
    b.expect("allowed", got, {"ok": []})
    got = b.error(ch.exchange_bind, "amq.topic", source, "private.news")
    b.expect("topic destination", got, {"ok": []})
    got = b.error(ch.exchange_bind, dest, "amq.topic", "private.news")
    b.expect("refused", got, _refused("private.news", name, [40, 30]))
    got = b.error(users.channel(name).exchange_unbind, dest, "amq.topic", "private.news")
    b.expect("unbind refused", got, _refused("private.news", name, [40, 40]))
