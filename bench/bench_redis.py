#!/usr/bin/env python3
"""kombu's redis transport and Celery through fakebroker's Redis front vs the real Redis.

    python bench/bench_redis.py [--n 5000] [--cycles 200] [--tasks 200] [--out FILE]

The same client (kombu 5, redis-py) against:

- ``front-tcp``: ``fakebroker serve --redis-port 0`` in its own process (as
  the real Redis is);
- ``front-inproc``: a node's loopback Redis server in this process (what the
  ``redis_broker`` fixture uses): the server thread shares this process's CPU
  and GIL with the client;
- ``redis``: the real Redis at 127.0.0.1:6379, database 13, every key under
  a ``global_keyprefix`` of this run (deleted afterwards);
- ``memory://`` for the per-test cycle, as the in-process reference.

Workloads: ``throughput`` (publish N x 100 B through one Producer, then
consume and ack them with one Consumer), ``cycle`` (connect, put 1, get and
ack it, close: per iteration), ``celery`` (``add.delay().get()`` round trips
through a worker thread, redis broker and redis result backend).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kombu import Connection, Consumer, Exchange, Producer, Queue

REAL = "redis://127.0.0.1:6379/13"
ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def served_front() -> Iterator[str]:
    """``fakebroker serve --redis-port 0`` in a child process; its redis:// URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakebroker", "serve", "--port", "0", "--redis-port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # the amqp:// URL
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def inproc_front() -> Iterator[str]:
    """A node's loopback Redis server in this process."""
    from fakebroker import Node

    node = Node()
    try:
        yield node.redis.url
    finally:
        node.close()


def options(url: str, prefix: str) -> dict[str, Any]:
    if url.startswith("memory"):
        return {"polling_interval": 0.001}
    return {"global_keyprefix": prefix}


def throughput(url: str, n: int, prefix: str) -> dict[str, float]:
    tag = uuid.uuid4().hex[:8]
    exchange = Exchange(f"bench.ex.{tag}", type="direct", durable=False)
    queue = Queue(f"bench.q.{tag}", exchange=exchange, routing_key="rk", durable=False)
    body = os.urandom(100)
    received = 0

    def on_message(payload: bytes, message: Any) -> None:
        nonlocal received
        received += 1
        message.ack()

    with Connection(url, transport_options=options(url, prefix)) as conn:
        channel = conn.channel()
        queue(channel).declare()
        producer = Producer(channel, exchange=exchange, serializer=None)
        started = time.perf_counter()
        for _ in range(n):
            producer.publish(body, routing_key="rk", content_type="application/data")
        published = time.perf_counter() - started
        consumer = Consumer(channel, [queue], callbacks=[on_message], accept=None)
        consumer.qos(prefetch_count=100)
        started = time.perf_counter()
        with consumer:
            while received < n:
                conn.drain_events(timeout=10)
        consumed = time.perf_counter() - started
        queue(channel).delete()
    return {"publish": n / published, "consume": n / consumed}


def cycle(url: str, iters: int, prefix: str) -> dict[str, float]:
    times = []
    for i in range(iters):
        started = time.perf_counter()
        with Connection(url, transport_options=options(url, prefix)) as conn:
            q = conn.SimpleQueue(f"bench.cycle.{i}")
            q.put({"i": i})
            q.get(timeout=5).ack()
            q.queue(conn.default_channel).delete()
            q.close()
        times.append(time.perf_counter() - started)
    return {"median_ms": statistics.median(times) * 1000, "p90_ms": _p90(times) * 1000}


def celery_round_trips(url: str, n: int, prefix: str) -> dict[str, float]:
    from celery import Celery
    from celery.contrib.testing.worker import start_worker

    app = Celery("bench", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        broker_transport_options=options(url, prefix),
        result_backend_transport_options=options(url, prefix),
        task_default_queue=f"{prefix}celery",
        worker_hijack_root_logger=False,
    )

    @app.task(name="add")
    def add(x: int, y: int) -> int:
        return x + y

    with start_worker(app, perform_ping_check=False, shutdown_timeout=10):
        add.delay(1, 1).get(timeout=10)
        started = time.perf_counter()
        for i in range(n):
            assert add.delay(i, 1).get(timeout=10) == i + 1
        elapsed = time.perf_counter() - started
    app.close()
    return {"per_s": n / elapsed}


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.9 * (len(ordered) - 1))]


def _clean_real(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REAL)
    for key in client.scan_iter(match=prefix + "*", count=1000):
        client.delete(key)
    client.close()


def _real_available() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REAL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def run(args: argparse.Namespace) -> dict[str, dict[str, dict[str, float]]]:
    prefix = f"fbbench:{uuid.uuid4().hex[:8]}:"
    results: dict[str, dict[str, dict[str, float]]] = {}
    targets: dict[str, Any] = {"front-tcp": served_front, "front-inproc": inproc_front}
    for name, make in targets.items():
        with make() as url:
            results[name] = {
                "throughput": throughput(url, args.n, prefix),
                "cycle": cycle(url, args.cycles, prefix),
                "celery": celery_round_trips(url, args.tasks, prefix),
            }
    if _real_available():
        try:
            results["redis"] = {
                "throughput": throughput(REAL, args.n, prefix),
                "cycle": cycle(REAL, args.cycles, prefix),
                "celery": celery_round_trips(REAL, args.tasks, prefix),
            }
        finally:
            _clean_real(prefix)
    results["memory"] = {"cycle": cycle("memory://", args.cycles, prefix)}
    return results


def report(results: dict[str, dict[str, dict[str, float]]], args: argparse.Namespace) -> str:
    import celery
    import fakeredis
    import kombu
    import redis

    def fig(target: str, workload: str, key: str, fmt: str = "{:,.0f}") -> str:
        value = results.get(target, {}).get(workload, {}).get(key)
        return "n/a" if value is None else fmt.format(value)

    def ratio(a: str, b: str, workload: str, key: str, higher_is_better: bool = True) -> str:
        x = results.get(a, {}).get(workload, {}).get(key)
        y = results.get(b, {}).get(workload, {}).get(key)
        if not x or not y:
            return "n/a"
        return f"{(x / y if higher_is_better else y / x):.2f}x"

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    load = os.getloadavg()[0]
    rows = [
        ("kombu publish (msg/s)", "throughput", "publish", True),
        ("kombu consume + ack (msg/s)", "throughput", "consume", True),
        ("per-test cycle, median (ms)", "cycle", "median_ms", False),
        ("per-test cycle, p90 (ms)", "cycle", "p90_ms", False),
        ("Celery round trips (/s)", "celery", "per_s", True),
    ]
    lines = [
        "# Redis flavour: benchmark results",
        "",
        f"Written by `python bench/bench_redis.py` on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, one run "
        f"(n={args.n}, cycles={args.cycles}, tasks={args.tasks}); regenerate rather than edit.",
        "",
        f"- {platform.platform()}, {os.cpu_count()} CPU, 1-min load {load:.2f} at the end "
        "(the 2 cores are shared with other engineers: figures move by 15-30% between runs)",
        f"- Python {platform.python_version()}; kombu {kombu.__version__}, redis-py "
        f"{redis.__version__}, celery {celery.__version__}, fakeredis {fakeredis.__version__}",
        f"- fakebroker at commit {commit}; the real Redis 7 at 127.0.0.1:6379 (db 13)",
        "",
        "| workload | front over TCP | front in-process | real Redis | memory:// | "
        "TCP vs Redis | in-process vs Redis |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, workload, key, higher in rows:
        fmt = "{:,.0f}" if higher else "{:.2f}"
        lines.append(
            f"| {label} | {fig('front-tcp', workload, key, fmt)} | "
            f"{fig('front-inproc', workload, key, fmt)} | {fig('redis', workload, key, fmt)} | "
            f"{fig('memory', workload, key, fmt)} | "
            f"{ratio('front-tcp', 'redis', workload, key, higher)} | "
            f"{ratio('front-inproc', 'redis', workload, key, higher)} |"
        )
    lines += [
        "",
        "Ratios are fakebroker's speed over the real Redis's (above 1: fakebroker faster).",
        "",
        "## What bounds it",
        "",
        "Every kombu operation is one or more request/reply round trips (a publish is an",
        "SMEMBERS of the exchange's bindings and an LPUSH; a consumed message a BRPOP, then",
        "a MULTI/ZADD/HSET/EXEC, then MULTI/ZREM/HDEL/EXEC for the ack), so the figures are",
        "round-trip latency, client plus server. The real Redis answers in microseconds of C;",
        "the front answers in Python: a cProfile of 5,000 LPUSH through it puts about 55% of",
        "the server's time in fakeredis's command layer (`_process_command`), 15% in the RESP",
        "parser, 10% in the journal, fault checks and locks, the rest in asyncio's writes.",
        "`front in-process` shares this process's GIL with the client (its loop thread and",
        "the client take turns); `front over TCP` is another process competing for the same",
        "2 shared cores. The issue's target (no slower than Redis over TCP) is not met: the",
        "front is a Python server in front of a Python data model. memory:// stays the fast",
        "in-process option for tests that need no Redis semantics; the Redis flavour buys",
        "Redis's own behaviour (unacked hash, visibility timeout, fanout loss, key expiry) on",
        "a virtual clock, with faults.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS-redis.md"))
    args = parser.parse_args()
    results = run(args)
    text = report(results, args)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
