"""A RabbitMQ definitions export, loaded the way `fakebroker serve --definitions` loads it."""

from __future__ import annotations

from pathlib import Path

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
