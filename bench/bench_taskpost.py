#!/usr/bin/env python3
"""taskpost vs Celery on the same broker, in the same run.

    python bench/bench_taskpost.py [--brokers rabbitmq,redis,fakebroker]
                                   [--round-trips 300] [--tasks 10000]

For each reachable broker, with an in-process worker thread on each side
(taskpost: 1 thread, prefetch 4; Celery: start_worker, pool solo):

1. round trips/s: sequential ``add.delay(1, 1).get()``;
2. throughput: tasks/s to send N tasks (``ignore_result``) and have the
   worker run the last of them.

Prints a table. Brokers that are down (or fakebroker:// before its kombu
transport works) are listed as skipped.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

URLS = {
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//",
    "redis": "redis://127.0.0.1:6379/0",
    "fakebroker": "fakebroker://",
}
TIMEOUT = 60.0


def unavailable(name: str) -> str | None:
    """Why broker ``name`` cannot be benchmarked, or None."""
    url = URLS[name]
    if name == "fakebroker":
        try:
            from kombu import Connection

            import fakebroker  # noqa: F401 - registers the kombu transport

            with Connection(url) as conn:
                conn.connect()
        except Exception as exc:
            return f"fakebroker:// not available ({type(exc).__name__}: {exc})"
        return None
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1.0):
            return None
    except OSError as exc:
        return f"unreachable ({exc})"


def transport_options(url: str) -> dict[str, Any]:
    return {"polling_interval": 0.01} if url.startswith("memory") else {}


class Counter:
    """Counts task runs; ``done`` is set at ``target``."""

    def __init__(self) -> None:
        self.target = 0
        self.count = 0
        self.done = threading.Event()
        self.lock = threading.Lock()

    def reset(self, target: int) -> None:
        self.target, self.count = target, 0
        self.done.clear()

    def hit(self) -> None:
        with self.lock:
            self.count += 1
            if self.count >= self.target:
                self.done.set()


def measure(
    send: Callable[[], Any],
    get: Callable[[Any], Any],
    fire: Callable[[], None],
    counter: Counter,
    rounds: int,
    tasks: int,
) -> tuple[float, float]:
    get(send())  # warm up connections and queues
    start = time.perf_counter()
    for _ in range(rounds):
        get(send())
    round_trips = rounds / (time.perf_counter() - start)
    counter.reset(tasks)
    start = time.perf_counter()
    for _ in range(tasks):
        fire()
    if not counter.done.wait(TIMEOUT * 5):
        raise RuntimeError(f"only {counter.count} of {tasks} tasks ran within {TIMEOUT * 5}s")
    return round_trips, tasks / (time.perf_counter() - start)


@contextmanager
def taskpost_side(url: str, queue: str, counter: Counter) -> Iterator[tuple[Any, ...]]:
    from taskpost import App

    app = App(
        broker_url=url,
        task_default_queue=queue,
        result_backend="rpc://",
        broker_transport_options=transport_options(url),
    )

    @app.task(name="bench.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="bench.count", ignore_result=True)
    def count() -> None:
        counter.hit()

    worker = app.Worker(concurrency=1, prefetch=4)
    worker.start()
    try:
        yield (
            lambda: add.delay(1, 1),
            lambda r: r.get(timeout=TIMEOUT),
            lambda: count.delay(),
        )
    finally:
        worker.stop()
        _delete_queue(app.connection(), queue)
        app.close()


@contextmanager
def celery_side(url: str, queue: str, counter: Counter) -> Iterator[tuple[Any, ...]]:
    from celery import Celery
    from celery.contrib.testing.worker import start_worker
    from celery.worker import state

    capp = Celery("bench", set_as_current=False)
    capp.conf.update(
        broker_url=url,
        result_backend="rpc://",
        task_default_queue=queue,
        broker_transport_options=transport_options(url),
        worker_hijack_root_logger=False,
    )

    @capp.task(name="bench.add", shared=False)
    def add(x: int, y: int) -> int:
        return x + y

    @capp.task(name="bench.count", shared=False, ignore_result=True)
    def count() -> None:
        counter.hit()

    with start_worker(capp, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield (
            lambda: add.delay(1, 1),
            lambda r: r.get(timeout=TIMEOUT),
            lambda: count.delay(),
        )
        state.should_terminate = 0
        count.delay()  # wakes the worker's event loop so it sees the stop flag
    with capp.connection() as conn:
        _delete_queue(conn, queue)
    capp.close()


def _delete_queue(conn: Any, queue: str) -> None:
    with conn:
        try:
            conn.default_channel.queue_delete(queue)
        except Exception as exc:
            logging.debug("could not delete %s: %s", queue, exc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", default="rabbitmq,redis,fakebroker")
    parser.add_argument("--round-trips", type=int, default=300)
    parser.add_argument("--tasks", type=int, default=10_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    rows: list[tuple[str, str, str, str]] = []
    for name in args.brokers.split(","):
        reason = unavailable(name)
        if reason:
            rows.append((name, "-", "skipped", reason))
            continue
        for lib, side in (("taskpost", taskpost_side), ("celery", celery_side)):
            counter = Counter()
            queue = f"bench-{lib}-{uuid.uuid4().hex[:8]}"
            try:
                with side(URLS[name], queue, counter) as (send, get, fire):
                    rt, tp = measure(send, get, fire, counter, args.round_trips, args.tasks)
            except Exception as exc:
                rows.append((name, lib, "failed", f"{type(exc).__name__}: {exc}"))
                continue
            rows.append((name, lib, f"{rt:,.0f}", f"{tp:,.0f}"))
            print(f"# {name} {lib}: {rt:,.0f} round trips/s, {tp:,.0f} tasks/s", file=sys.stderr)
    header = ("broker", "library", "delay().get() /s", f"{args.tasks:,} tasks: tasks/s")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
