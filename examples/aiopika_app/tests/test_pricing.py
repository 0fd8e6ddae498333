"""The aio-pika app's tests (plain pytest: each test runs its coroutine with asyncio.run).

aio-pika needs a socket: ``broker_amqp_url`` is an amqp:// URL of the
``--broker`` backend (the in-process broker served on a port by default),
``broker_server`` a fakebroker on a TCP port.
"""

from __future__ import annotations

import asyncio

import aio_pika
from pricing import ask_price, serve_prices


async def _ask(url: str, queue: str, *items: str) -> list[int | None]:
    async with await aio_pika.connect(url) as server, await aio_pika.connect(url) as client:
        await serve_prices(server, queue)
        return [await ask_price(client, queue, item) for item in items]


def test_prices_over_rpc(broker_amqp_url, broker_backend):
    queue = broker_backend.unique("prices")
    assert asyncio.run(_ask(broker_amqp_url, queue, "tea", "cake", "pie")) == [3, 5, None]


def test_requests_are_json_with_a_reply_to(broker_server):
    asyncio.run(_ask(broker_server.url, "prices", "tea"))

    [request] = broker_server.assert_published(routing_key="prices", body={"item": "tea"})
    assert request.properties["content_type"] == "application/json"
    assert request.properties["reply_to"].startswith("amq.rabbitmq.reply-to.")
    assert "prices" not in broker_server.queues  # auto-delete: gone with its consumer
