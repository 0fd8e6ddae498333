#!/usr/bin/env python3
"""Celery ``add.delay(i, 1).get()`` round trips/s against one broker; prints one JSON object.

    python bench/bench_celery.py --broker fakebroker:// [--n 500]

The worker is Celery's test worker (``celery.contrib.testing.worker.start_worker``,
pool solo) in this process; results come back through ``rpc://``.  The
process ends with ``os._exit`` once the figures are printed: stopping
Celery's test worker takes seconds and is not what is measured.
``--profile FILE`` samples every thread's stack during the timed loop
(bench/_sampler.py) and writes the per-thread tops to FILE as JSON.
``cpu_ms_per_roundtrip`` is this process's CPU time (client and worker
threads, and the in-process broker when there is one) per round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import traceback
from typing import Any, NoReturn

from _sampler import Sampler

import fakebroker  # noqa: F401 - registers fakebroker:// in kombu


def finish(out: dict[str, Any]) -> NoReturn:
    """Print the result and end the process at once, worker threads included."""
    print(json.dumps(out), flush=True)
    sys.stderr.flush()
    os._exit(0 if out["ok"] else 1)


def run(broker: str, n: int, warmup: int, profile: str | None) -> None:
    """Start a worker, time n sequential round trips, finish() inside the worker's block."""
    import celery.contrib.testing.tasks  # noqa: F401 - registers celery.ping
    from celery import Celery
    from celery.contrib.testing.worker import start_worker

    app = Celery("bench_celery", broker=broker, backend="rpc://", set_as_current=False)
    conf: dict[str, Any] = {
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "worker_hijack_root_logger": False,
        "broker_connection_retry_on_startup": False,
    }
    if broker.startswith("memory"):
        conf["broker_transport_options"] = {"polling_interval": 0.001}
        conf["result_backend_transport_options"] = {"polling_interval": 0.001}
    app.conf.update(conf)

    @app.task(name="bench.add", shared=False)
    def add(x: int, y: int) -> int:
        return x + y

    started = time.perf_counter()
    with start_worker(app, pool="solo", perform_ping_check=True, loglevel="WARNING"):
        worker_start_s = time.perf_counter() - started
        for i in range(warmup):
            assert add.delay(i, i).get(timeout=10) == 2 * i
        latencies: list[float] = []
        sampler = Sampler() if profile else None
        if sampler:
            sampler.start()
        begin, cpu_begin = time.perf_counter(), time.process_time()
        for i in range(n):
            t = time.perf_counter()
            result = add.delay(i, 1).get(timeout=10)
            latencies.append(time.perf_counter() - t)
            if result != i + 1:
                raise AssertionError(f"bad result {result!r} for {i}+1")
        total = time.perf_counter() - begin
        cpu = time.process_time() - cpu_begin
        if sampler and profile:
            sampler.stop()
            sampler.dump(profile)
        latencies.sort()
        finish(
            {
                "broker": broker,
                "ok": True,
                "roundtrips_per_s": n / total,
                "median_ms": statistics.median(latencies) * 1e3,
                "p95_ms": latencies[max(0, round(0.95 * n) - 1)] * 1e3,
                "cpu_ms_per_roundtrip": cpu / n * 1e3,
                "worker_start_s": worker_start_s,
            }
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", required=True)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--profile", metavar="FILE")
    args = parser.parse_args()
    try:
        run(args.broker, args.n, args.warmup, args.profile)
    except BaseException as exc:
        traceback.print_exc(file=sys.stderr)
        error = f"{type(exc).__name__}: {exc}"[:300]
        finish({"broker": args.broker, "ok": False, "error": error})
    finish({"broker": args.broker, "ok": False, "error": "worker block ended"})


if __name__ == "__main__":
    main()
