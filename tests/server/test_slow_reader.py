"""A consumer that never reads: the server holds its deliveries instead of buffering them.

RabbitMQ's credit flow stops a queue delivering to a channel whose socket is
full; fakebroker's TCP front does the same (the transport's high-water mark
pauses the connection's deliveries), so what it buffers for a slow reader is
bounded by the socket buffers, not by the queue.
"""

from __future__ import annotations

import socket

import amqp

import fakebroker

MESSAGES = 20_000
BODY = b"x" * 1024


def test_a_reader_that_never_reads_leaves_its_messages_in_the_queue() -> None:
    with fakebroker.serve(port=0) as server:
        host = f"127.0.0.1:{server.port}"
        slow = amqp.Connection(host=host, heartbeat=0)
        slow.connect()
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        channel = slow.channel()
        channel.queue_declare("slow")
        channel.basic_consume("slow", no_ack=True, callback=lambda message: None)
        publisher = amqp.Connection(host=host, heartbeat=0, confirm_publish=True)
        publisher.connect()
        out = publisher.channel()
        for _ in range(MESSAGES):
            out.basic_publish(amqp.Message(BODY), "", "slow")
        with server.node.locked() as broker:
            ready = broker.get_queue("slow").message_count
        publisher.close()
        slow.collect()
    in_flight = MESSAGES - ready
    # what left the queue sits in socket buffers (the kernel's, at most a few MiB on
    # loopback, and the transport's 64 KiB), not 20 MiB in the server's memory
    assert in_flight * len(BODY) < 8 * 1024 * 1024, in_flight
    assert ready > 0
