"""An aio-pika application: a price service answering RPC requests over a queue."""

from __future__ import annotations

import asyncio
import json
import uuid

import aio_pika

PRICES = {"tea": 3, "cake": 5}


async def serve_prices(connection: aio_pika.abc.AbstractConnection, queue_name: str) -> None:
    """Answer ``{"item": ...}`` requests on ``queue_name`` with ``{"price": ...}`` replies."""
    channel = await connection.channel()
    queue = await channel.declare_queue(queue_name, auto_delete=True)

    async def on_request(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            item = json.loads(message.body)["item"]
            reply = json.dumps({"price": PRICES.get(item)}).encode()
            await channel.default_exchange.publish(
                aio_pika.Message(reply, correlation_id=message.correlation_id),
                routing_key=message.reply_to or "",
            )

    await queue.consume(on_request)


async def ask_price(
    connection: aio_pika.abc.AbstractConnection, queue_name: str, item: str, timeout: float = 5.0
) -> int | None:
    """Ask the price service for ``item`` (direct reply-to) and wait for the answer."""
    channel = await connection.channel()
    replies = await channel.get_queue("amq.rabbitmq.reply-to", ensure=False)
    answer: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
    correlation_id = uuid.uuid4().hex

    async def on_reply(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        if message.correlation_id == correlation_id and not answer.done():
            answer.set_result(json.loads(message.body)["price"])

    await replies.consume(on_reply, no_ack=True)
    await channel.default_exchange.publish(
        aio_pika.Message(
            json.dumps({"item": item}).encode(),
            correlation_id=correlation_id,
            reply_to="amq.rabbitmq.reply-to",
            content_type="application/json",
        ),
        routing_key=queue_name,
    )
    return await asyncio.wait_for(answer, timeout)
