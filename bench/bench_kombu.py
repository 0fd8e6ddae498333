#!/usr/bin/env python3
"""kombu workloads against one broker URL; prints one JSON object.

    python bench/bench_kombu.py throughput --url fakebroker:// [--n 20000] [--size 100]
    python bench/bench_kombu.py cycle --url memory:// [--iters 300]

``throughput``: publish N x SIZE bytes through one Producer (raw bytes, no
serializer), then consume and ack them all with one Consumer, prefetch 100.
``cycle``: the per-test cycle "connect, declare exchange + queue + binding,
publish 1, consume and ack it, delete the queue, close", timed per iteration.

Both follow /work/shared/reference/bench-baseline/ (same steps, same sizes)
so that the figures compare with docs' baselines.  ``memory://`` gets
``polling_interval`` 0.001 (its default of 1 s would measure the sleep).
``*_cpu_us`` is this process's CPU time per message: the client alone for
TCP backends, the client and the broker for in-process ones.
``--profile FILE`` writes cProfile stats of the timed part to FILE.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.message import Message

import fakebroker  # noqa: F401 - registers fakebroker:// in kombu


def transport_options(url: str) -> dict[str, Any]:
    """Tuned options for kombu's virtual transports (a 1 ms poll instead of 1 s)."""
    return {"polling_interval": 0.001} if url.startswith("memory") else {}


@contextmanager
def profiled(path: str | None) -> Iterator[None]:
    """cProfile the block into ``path`` (nothing when path is None)."""
    if path is None:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        profiler.dump_stats(path)


def throughput(url: str, n: int, size: int, prefetch: int, profile: str | None) -> dict[str, Any]:
    """Publish n messages, then consume and ack them; rates of both phases."""
    tag = uuid.uuid4().hex[:8]
    exchange = Exchange(f"bench.tp.ex.{tag}", type="direct", durable=False)
    queue = Queue(f"bench.tp.q.{tag}", exchange=exchange, routing_key="rk", durable=False)
    body = os.urandom(size)
    received = 0

    def on_message(payload: bytes, message: Message) -> None:
        nonlocal received
        if len(payload) != size:
            raise AssertionError(f"got {len(payload)} bytes, expected {size}")
        received += 1
        message.ack()

    with Connection(url, transport_options=transport_options(url)) as conn:
        conn.connect()
        channel = conn.channel()
        bound = queue(channel)
        bound.declare()
        producer = Producer(
            channel,
            exchange=exchange,
            routing_key="rk",
            serializer=None,
            compression=None,
            auto_declare=False,
        )
        consumer = Consumer(
            channel,
            queues=[bound],
            callbacks=[on_message],
            no_ack=False,
            prefetch_count=prefetch,
            auto_declare=False,
        )
        with profiled(profile):
            start, cpu_start = time.perf_counter(), time.process_time()
            for _ in range(n):
                producer.publish(body, content_type="application/data", content_encoding="binary")
            published, cpu_published = time.perf_counter(), time.process_time()
            consumer.consume()
            while received < n:
                conn.drain_events(timeout=10.0)
            consumed, cpu_consumed = time.perf_counter(), time.process_time()
        consumer.cancel()
        bound.delete()
        exchange(channel).delete()
    publish_s, consume_s = published - start, consumed - published
    return {
        "publish_msgs_per_s": n / publish_s,
        "consume_msgs_per_s": n / consume_s,
        "total_msgs_per_s": n / (publish_s + consume_s),
        "publish_cpu_us": (cpu_published - cpu_start) / n * 1e6,
        "consume_cpu_us": (cpu_consumed - cpu_published) / n * 1e6,
    }


def one_cycle(url: str, names: tuple[str, str], options: dict[str, Any]) -> None:
    """One unit test's worth of broker traffic."""
    got: list[Any] = []
    exchange = Exchange(names[0], type="direct", durable=False)
    queue = Queue(names[1], exchange=exchange, routing_key="rk", durable=False)

    def on_message(payload: Any, message: Message) -> None:
        got.append(payload)
        message.ack()

    conn = Connection(url, transport_options=options)
    try:
        conn.connect()
        channel = conn.channel()
        bound = queue(channel)
        bound.declare()
        Producer(channel, exchange=exchange, routing_key="rk", auto_declare=False).publish(
            {"hello": "world"}, serializer="json"
        )
        with Consumer(
            channel, queues=[bound], callbacks=[on_message], no_ack=False, auto_declare=False
        ):
            deadline = time.monotonic() + 5.0
            while not got:
                if time.monotonic() > deadline:
                    raise TimeoutError("message not received")
                with suppress(TimeoutError):
                    conn.drain_events(timeout=deadline - time.monotonic())
        bound.delete()
    finally:
        conn.release()
    if got != [{"hello": "world"}]:
        raise AssertionError(f"unexpected payload {got!r}")


def cycle(url: str, iters: int, warmup: int, profile: str | None) -> dict[str, Any]:
    """Median, p95 and first-iteration latency of the per-test cycle, in ms."""
    tag = uuid.uuid4().hex[:8]
    names = (f"bench.cyc.ex.{tag}", f"bench.cyc.q.{tag}")
    options = transport_options(url)
    timed: Callable[[], None] = lambda: one_cycle(url, names, options)  # noqa: E731
    start = time.perf_counter()
    timed()
    first_ms = (time.perf_counter() - start) * 1e3
    for _ in range(warmup):
        timed()
    latencies: list[float] = []
    cpu_start = time.process_time()
    with profiled(profile):
        for _ in range(iters):
            start = time.perf_counter()
            timed()
            latencies.append((time.perf_counter() - start) * 1e3)
    cpu_ms = (time.process_time() - cpu_start) / iters * 1e3
    with Connection(url, transport_options=options) as conn:
        Exchange(names[0], type="direct")(conn.default_channel).delete()
    latencies.sort()
    return {
        "median_ms": statistics.median(latencies),
        "p95_ms": latencies[max(0, round(0.95 * len(latencies)) - 1)],
        "first_ms": first_ms,
        "cpu_ms": cpu_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["throughput", "cycle"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--prefetch", type=int, default=100)
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile", metavar="FILE")
    args = parser.parse_args()
    if args.workload == "throughput":
        result = throughput(args.url, args.n, args.size, args.prefetch, args.profile)
    else:
        result = cycle(args.url, args.iters, args.warmup, args.profile)
    print(json.dumps({"workload": args.workload, "url": args.url, **result}))


if __name__ == "__main__":
    main()
