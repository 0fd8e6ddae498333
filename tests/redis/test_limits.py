"""The front's caps: a request too big, a subscriber that never reads."""

from __future__ import annotations

import socket

from fakebroker.testing._redis import RedisBrokerHandle

from ._raw import Raw, request


def test_a_subscriber_that_never_reads_is_dropped_past_the_output_limit(
    fake_redis: RedisBrokerHandle,
) -> None:
    lazy = Raw(fake_redis.url)
    lazy.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.send(request("SUBSCRIBE", "firehose"))
    client = fake_redis.client()
    subscribers = fake_redis.node.redis.server.subscribers  # type: ignore[union-attr]
    fake_redis.wait_for(lambda: len(subscribers[b"firehose"]) == 1)
    chunk = b"x" * (1 << 20)
    for _ in range(64):  # 64 MiB against a 32 MiB limit
        if client.publish("firehose", chunk) == 0:
            break
    assert client.pubsub_numsub("firehose") == [(b"firehose", 0)]
    lazy.close()


def test_an_oversized_inline_request_closes_the_connection(fake_redis: RedisBrokerHandle) -> None:
    raw = Raw(fake_redis.url)
    raw.send(b"x" * (70 * 1024))
    assert raw.reply() == b"-ERR Protocol error: too big inline request\r\n"
    assert raw.closed()
    raw.close()
