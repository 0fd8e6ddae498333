"""A RabbitMQ definitions export, loaded the way `fakebroker serve --definitions` loads it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fakebroker import build_node

EXAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "definitions" / "example.json"


def test_export_users_topology_and_hashes() -> None:
    broker = build_node(users=(), definitions=str(EXAMPLE)).broker
    assert broker.authenticate("guest", "guest")  # password_hash exported by RabbitMQ 3.10.8
    assert broker.authenticate("app", "app-secret")
    assert not broker.authenticate("guest", "nope")
    assert broker.has_vhost("orders")
    queue = broker.get_queue("orders.created", "orders")
    assert queue.durable and queue.args.message_ttl == 60000
    bindings = [(b.source, b.destination, b.routing_key) for b in broker.list_bindings("orders")]
    assert ("orders", "orders.created", "order.*.created") in bindings


def _definitions(**extra: object) -> dict[str, object]:
    return {"vhosts": [{"name": "/"}, {"name": "shop"}], **extra}


def test_permissions_are_imported_and_bind_the_users_they_name() -> None:
    from fakebroker._definitions import apply_definitions as apply_definitions_to
    from fakebroker.core import AMQPError, Broker

    broker = Broker(users={})
    apply_definitions_to(
        broker,
        _definitions(
            users=[
                {"name": "bob", "password": "pw", "tags": "administrator,management"},
                {"name": "eve", "password": "pw", "tags": []},
            ],
            permissions=[
                {"user": "bob", "vhost": "shop", "configure": "^bob\\.", "write": ".*", "read": ""}
            ],
        ),
    )
    assert broker.permissions.tags["bob"] == ("administrator", "management")
    channel = broker.connect(vhost="shop", user="bob").open_channel(1)
    channel.queue_declare("bob.q")
    with pytest.raises(AMQPError, match="access to queue 'other' in vhost 'shop' refused"):
        channel.queue_declare("other")
    with pytest.raises(AMQPError, match="access to vhost '/' refused for user 'bob'") as no_vhost:
        broker.connect(vhost="/", user="bob")
    assert no_vhost.value.code == 530
    with pytest.raises(AMQPError, match="access to vhost 'shop' refused for user 'eve'"):
        broker.connect(vhost="shop", user="eve")


def test_topic_permissions_are_imported_as_rabbitmq_exports_them() -> None:
    """An entry of RabbitMQ's export (user, vhost, exchange, write, read) binds the user."""
    from fakebroker._definitions import apply_definitions as apply_definitions_to
    from fakebroker.core import AMQPError, Broker

    broker = Broker(users={})
    apply_definitions_to(
        broker,
        _definitions(
            users=[{"name": "bob", "password": "pw", "tags": ""}],
            permissions=[
                {"user": "bob", "vhost": "shop", "configure": ".*", "write": ".*", "read": ".*"}
            ],
            topic_permissions=[
                {"user": "bob", "vhost": "shop", "exchange": "amq.topic",
                 "write": "^{username}\\.", "read": ".*"}
            ],
        ),
    )  # fmt: skip
    channel = broker.connect(vhost="shop", user="bob").open_channel(1)
    channel.basic_publish("amq.topic", "bob.orders", b"m")
    with pytest.raises(AMQPError, match=r"access to topic 'eve\.orders' in exchange 'amq\.topic'"):
        channel.basic_publish("amq.topic", "eve.orders", b"m")
    from fakebroker.fronts.http._access import Access
    from fakebroker.fronts.http._read import definitions_of

    exported = definitions_of(broker, Access(broker), "0", None)["topic_permissions"]
    assert exported == [
        {"user": "bob", "vhost": "shop", "exchange": "amq.topic",
         "write": "^{username}\\.", "read": ".*"}
    ]  # fmt: skip


def test_a_user_locked_out_or_with_an_unknown_hash_is_named_at_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from fakebroker._definitions import apply_definitions as apply_definitions_to
    from fakebroker.core import Broker

    users = [
        {"name": "eve", "password": "pw"},
        {"name": "old", "password_hash": "abc", "hashing_algorithm": "rabbit_password_hashing_x"},
    ]
    with caplog.at_level(logging.WARNING, logger="fakebroker"):
        apply_definitions_to(Broker(users={}), _definitions(users=users))
    text = caplog.text
    assert "user 'eve' has no permissions on any vhost: it cannot open a connection" in text
    assert "user 'old' has hashing_algorithm 'rabbit_password_hashing_x'" in text
    assert "it can never log in" in text


def test_command_line_users_come_after_and_may_do_anything() -> None:
    broker = build_node(users=[("app", "secret")], definitions=str(EXAMPLE)).broker
    assert broker.permissions.of("app") is None  # --user app:secret replaced the imported app
    broker.connect(vhost="orders", user="app").close()
    assert broker.permissions.of("guest") is not None  # the export's guest: only "/"
