"""The management HTTP API: fakebroker's against RabbitMQ's, in one run.

    PYTHONPATH=. python bench/bench_http.py [--requests 30] [--queues 1000]

Two measurements per backend, each a median and 90th percentile of request
latency over a kept-alive HTTP connection:

1. GET /api/queues/{vhost} with 1,000 queues in the vhost;
2. GET /api/overview while another process publishes as fast as it can
   (py-amqp, no confirms) to a queue its consumer drains with auto-ack; the
   publish rate that process reached is reported too.

fakebroker runs as ``fakebroker serve --port 0 --http-port 0`` in its own
process, as RabbitMQ does; RabbitMQ is the one at 127.0.0.1:5672/15672
(guest/guest), skipped when unreachable.  Each backend gets a fresh vhost,
deleted afterwards.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import amqp

ROOT = Path(__file__).resolve().parents[1]
AUTH = {"Authorization": "Basic " + base64.b64encode(b"guest:guest").decode()}


class Backend:
    """An HTTP API address and an AMQP port."""

    def __init__(self, name: str, http_host: str, http_port: int, amqp_port: int) -> None:
        self.name = name
        self.http = http.client.HTTPConnection(http_host, http_port, timeout=30)
        self.amqp_port = amqp_port

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        headers = dict(AUTH, **({"Content-Type": "application/json"} if data else {}))
        self.http.request(method, path, body=data, headers=headers)
        response = self.http.getresponse()
        return response.status, response.read()

    def amqp(self, vhost: str) -> amqp.Connection:
        conn = amqp.Connection(
            host=f"127.0.0.1:{self.amqp_port}", virtual_host=vhost, userid="guest", password="guest"
        )
        conn.connect()
        return conn


@contextmanager
def fakebroker_backend() -> Iterator[Backend]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakebroker", "serve", "--port", "0", "--http-port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        amqp_url = urlsplit(proc.stdout.readline().strip())
        http_url = urlsplit(proc.stdout.readline().strip())
        assert amqp_url.port and http_url.port and http_url.hostname
        yield Backend("fakebroker", http_url.hostname, http_url.port, amqp_url.port)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


@contextmanager
def rabbitmq_backend() -> Iterator[Backend | None]:
    for port in (15672, 5672):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            yield None
            return
    yield Backend("RabbitMQ", "127.0.0.1", 15672, 5672)


def timed(backend: Backend, path: str, n: int) -> list[float]:
    """Seconds per request, ``n`` requests."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        status, _ = backend.call("GET", path)
        times.append(time.perf_counter() - start)
        assert status == 200, (backend.name, path, status)
    return times


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"median {statistics.median(times) * 1000:8.1f} ms   p90 {p90 * 1000:8.1f} ms"


def bench_queues(backend: Backend, vhost: str, queues: int, n: int) -> dict[str, Any]:
    conn = backend.amqp(vhost)
    try:
        ch = conn.channel()
        for i in range(queues):
            ch.queue_declare(f"q{i:04d}")
    finally:
        conn.close()
    path = f"/api/queues/{quote(vhost, safe='')}"
    deadline = time.monotonic() + 30  # RabbitMQ lists new queues with their counts a little later
    while True:
        listed = json.loads(backend.call("GET", path)[1])
        if (len(listed) == queues and all("messages" in q for q in listed)) or (
            time.monotonic() > deadline
        ):
            break
        time.sleep(0.5)
    times = timed(backend, path, n)
    return {"times": times, "listed": len(listed)}


LOAD = """
import sys, threading, time, amqp
port, vhost, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
def connect():
    c = amqp.Connection(
        host=f"127.0.0.1:{port}", virtual_host=vhost, userid="guest", password="guest"
    )
    c.connect()
    return c
def consume():
    c = connect(); ch = c.channel(); ch.queue_declare("load")
    ch.basic_consume("load", no_ack=True, callback=lambda m: None)
    end = time.monotonic() + seconds + 2
    while time.monotonic() < end:
        try:
            c.drain_events(timeout=0.2)
        except Exception:
            pass
threading.Thread(target=consume, daemon=True).start()
c = connect(); ch = c.channel(); ch.queue_declare("load")
m = amqp.Message(b"x" * 100)
sent, start = 0, time.monotonic()
while time.monotonic() - start < seconds:
    for _ in range(100):
        ch.basic_publish(m, exchange="", routing_key="load")
    sent += 100
print(sent / (time.monotonic() - start), flush=True)
"""


def bench_overview(backend: Backend, vhost: str, n: int, seconds: float = 8.0) -> dict[str, Any]:
    """/api/overview timed while another process publishes and consumes for ``seconds``."""
    load = subprocess.Popen(
        [sys.executable, "-c", LOAD, str(backend.amqp_port), vhost, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)  # the load is running
        times = timed(backend, "/api/overview", n)
        out, _ = load.communicate(timeout=seconds + 30)
    finally:
        if load.poll() is None:
            load.kill()
    return {"times": times, "publish_rate": float(out.strip() or 0)}


def run(backend: Backend, queues: int, n: int) -> dict[str, Any]:
    vhost = f"bench-http-{uuid.uuid4().hex[:8]}"
    status, _ = backend.call("PUT", f"/api/vhosts/{vhost}", {})
    assert status in (201, 204), status
    try:
        return {
            "queues": bench_queues(backend, vhost, queues, n),
            "overview": bench_overview(backend, vhost, n),
        }
    finally:
        backend.call("DELETE", f"/api/vhosts/{vhost}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--queues", type=int, default=1000)
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with fakebroker_backend() as fake:
        results[fake.name] = run(fake, args.queues, args.requests)
    with rabbitmq_backend() as rabbit:
        if rabbit is None:
            print("RabbitMQ (127.0.0.1:5672 and :15672) unreachable: measuring fakebroker only")
        else:
            results[rabbit.name] = run(rabbit, args.queues, args.requests)
    print(f"GET /api/queues/{{vhost}} with {args.queues:,} queues ({args.requests} requests)")
    for name, r in results.items():
        print(f"  {name:<11} {summary(r['queues']['times'])}   ({r['queues']['listed']} listed)")
    print(f"GET /api/overview under AMQP load ({args.requests} requests)")
    for name, r in results.items():
        rate = r["overview"]["publish_rate"]
        print(f"  {name:<11} {summary(r['overview']['times'])}   (publishing {rate:,.0f} msg/s)")


if __name__ == "__main__":
    main()
