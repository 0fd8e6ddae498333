#!/usr/bin/env python3
"""Throughput and memory of the core alone (no protocol, no client).

    python bench/bench_core.py [--n 200000]

1. direct: publish, route, deliver and ack N 100-byte messages through a
   direct exchange to one consumer (prefetch 0), the journal off and on;
2. topic: the same with 10,000 topic bindings on the exchange;
3. memory: 1,000,000 queued 100-byte messages, measured with tracemalloc.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
import tracemalloc
from typing import Any

from fakebroker.core import Broker, VirtualClock

BODY = b"x" * 100
PROPS: dict[str, Any] = {"content_type": "application/data", "delivery_mode": 1}


def _setup(bindings: int, journal: bool) -> tuple[Broker, Any]:
    broker = Broker(clock=VirtualClock())
    broker.journal.enabled = journal
    conn = broker.connect()
    ch = conn.open_channel(1)
    kind = "topic" if bindings else "direct"
    ch.exchange_declare("x", kind)
    ch.queue_declare("q")
    if bindings:
        ch.queue_declare("other")
        for i in range(bindings):
            ch.queue_bind("other", "x", f"stock.s{i}.#" if i % 2 else f"*.s{i}.venue")
        ch.queue_bind("q", "x", "stock.target.*")
    else:
        ch.queue_bind("q", "x", "rk")
    ch.basic_consume("q", "c")
    return broker, (conn, ch)


def run_pipeline(n: int, bindings: int = 0, journal: bool = False) -> float:
    broker, (conn, ch) = _setup(bindings, journal)
    key = "stock.target.nyse" if bindings else "rk"
    outbox = conn.outbox
    publish, ack = ch.basic_publish, ch.basic_ack
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        publish("x", key, BODY, PROPS)
        while outbox:
            event = outbox.popleft()
            ack(event.delivery_tag)  # type: ignore[union-attr]
    elapsed = time.perf_counter() - start
    assert broker.get_queue("q").message_count == 0
    return n / elapsed


def queued_memory(n: int) -> float:
    broker = Broker(clock=VirtualClock())
    broker.journal.enabled = False
    ch = broker.connect().open_channel(1)
    ch.queue_declare("q")
    gc.collect()
    tracemalloc.start()
    for _ in range(n):
        ch.basic_publish("", "q", bytes(BODY), PROPS)
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert broker.get_queue("q").message_count == n
    return current / 1e6


def best_of(runs: int, fn: Any, *args: Any, **kwargs: Any) -> float:
    """The median of ``runs`` measurements after one warm-up run."""
    fn(max(1000, args[0] // 10), *args[1:], **kwargs)
    results = sorted(fn(*args, **kwargs) for _ in range(runs))
    return results[len(results) // 2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--memory-n", type=int, default=1_000_000)
    args = parser.parse_args()
    result = {
        "direct_msgs_per_s": round(best_of(3, run_pipeline, args.n)),
        "direct_with_journal_msgs_per_s": round(best_of(3, run_pipeline, args.n, journal=True)),
        "topic_10k_bindings_msgs_per_s": round(
            best_of(3, run_pipeline, args.n // 2, bindings=10_000)
        ),
        "queued_1m_MB": round(queued_memory(args.memory_n), 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
