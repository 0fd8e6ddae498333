#!/usr/bin/env python3
"""Soak: many connections x channels publishing with confirms and consuming, for a while.

    python bench/soak.py [--connections 200] [--channels 5] [--seconds 60] [--rate 2]
                         [--size 256] [--skip-rabbitmq] [--output bench/RESULTS-soak.md]

The same aio-pika client runs against ``fakebroker serve`` (its own process,
port 0) and the real RabbitMQ at 127.0.0.1:5672, one after the other. Each
channel is in confirm mode, has its own queue and its own consumer (acks),
and publishes ``--rate`` messages per second with a unique id. Reported:
messages published, confirmed, delivered; lost (confirmed, never delivered)
and unexpected (delivered twice, or never published); publish-to-confirm
latency p50/p99; the server's RSS at the start and at the end (its process,
or RabbitMQ's beam.smp). Loopback only, bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika

ROOT = Path(__file__).resolve().parents[1]
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass
class Tally:
    published: int = 0
    confirmed: int = 0
    nacked: int = 0
    latencies: list[float] = field(default_factory=list)
    sent: set[str] = field(default_factory=set)
    confirmed_ids: set[str] = field(default_factory=set)
    received: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _rabbitmq_pid() -> int:
    found = subprocess.run(["pgrep", "-f", "beam.smp"], capture_output=True, text=True)
    pids = [int(p) for p in found.stdout.split()]
    return pids[0] if pids else 0


async def _channel_worker(
    connection: aio_pika.abc.AbstractConnection, tally: Tally, args: argparse.Namespace, stop: float
) -> None:
    channel = await connection.channel(publisher_confirms=True)
    queue = await channel.declare_queue(f"soak-{uuid.uuid4().hex}", auto_delete=True)

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        ident = message.message_id or "?"
        tally.received[ident] = tally.received.get(ident, 0) + 1
        await message.ack()

    await queue.consume(on_message)
    body = b"x" * args.size
    interval = 1.0 / args.rate
    next_at = time.monotonic()
    while time.monotonic() < stop:
        ident = uuid.uuid4().hex
        tally.sent.add(ident)
        tally.published += 1
        started = time.perf_counter()
        try:
            await channel.default_exchange.publish(
                aio_pika.Message(body, message_id=ident), routing_key=queue.name
            )
        except Exception as exc:  # a nack or a closed channel: counted, never hidden
            tally.nacked += 1
            tally.errors.append(repr(exc))
        else:
            tally.latencies.append(time.perf_counter() - started)
            tally.confirmed += 1
            tally.confirmed_ids.add(ident)
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def _soak(url: str, args: argparse.Namespace) -> Tally:
    tally = Tally()
    connections = [await aio_pika.connect(url, heartbeat=0) for _ in range(args.connections)]
    stop = time.monotonic() + args.seconds
    workers = [
        _channel_worker(conn, tally, args, stop)
        for conn in connections
        for _ in range(args.channels)
    ]
    await asyncio.gather(*workers)
    deadline = time.monotonic() + 10
    while len(tally.received) < len(tally.confirmed_ids) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # in-flight deliveries: bounded wait, then counted as lost
    for conn in connections:
        await conn.close()
    return tally


def _serve() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakebroker", "serve", "--port", "0", "--log-level", "warning"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _row(name: str, tally: Tally, rss: tuple[int, int], seconds: float) -> dict[str, object]:
    lost = len(tally.confirmed_ids - set(tally.received))
    unexpected = sum(n - 1 for n in tally.received.values()) + len(set(tally.received) - tally.sent)
    lat = sorted(tally.latencies) or [0.0]
    return {
        "backend": name,
        "published": tally.published,
        "confirmed": tally.confirmed,
        "nacked": tally.nacked,
        "delivered": sum(tally.received.values()),
        "lost": lost,
        "unexpected": unexpected,
        "rate": tally.confirmed / seconds,
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000,
        "rss_start_mib": rss[0] / 1024,
        "rss_end_mib": rss[1] / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=2.0, help="messages/s per channel")
    parser.add_argument("--size", type=int, default=256, help="body bytes")
    parser.add_argument("--skip-rabbitmq", action="store_true")
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS-soak.md"))
    args = parser.parse_args()
    rows = []
    proc, url = _serve()
    try:
        before = _rss_kib(proc.pid)
        tally = asyncio.run(_soak(url, args))
        rows.append(_row("fakebroker serve", tally, (before, _rss_kib(proc.pid)), args.seconds))
    finally:
        proc.terminate()
        proc.wait(10)
    if not args.skip_rabbitmq:
        pid = _rabbitmq_pid()
        before = _rss_kib(pid)
        tally = asyncio.run(_soak(RABBITMQ_URL, args))
        rows.append(_row("RabbitMQ 3.10.8", tally, (before, _rss_kib(pid)), args.seconds))
    _write(args, rows)
    return 0 if all(r["lost"] == 0 and r["unexpected"] == 0 for r in rows) else 1


def _write(args: argparse.Namespace, rows: list[dict[str, object]]) -> None:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = (
        f"## Soak, {stamp}: {args.connections} connections x {args.channels} channels, "
        f"{args.rate:g} msg/s each, {args.size} B bodies, {args.seconds:g} s\n\n"
        "| backend | published | confirmed | delivered | lost | unexpected | confirmed/s "
        "| p50 ms | p99 ms | RSS start MiB | RSS end MiB |\n" + "|---" * 11 + "|\n"
    )
    lines = [
        f"| {r['backend']} | {r['published']:,} | {r['confirmed']:,} | {r['delivered']:,} "
        f"| {r['lost']} | {r['unexpected']} | {r['rate']:,.0f} | {r['p50_ms']:.2f} "
        f"| {r['p99_ms']:.2f} | {r['rss_start_mib']:.0f} | {r['rss_end_mib']:.0f} |"
        for r in rows
    ]
    text = head + "\n".join(lines) + "\n\n"
    print(text)
    path = Path(args.output)
    old = path.read_text() if path.exists() else "# Soak results (bench/soak.py)\n\n"
    path.write_text(old + text)


if __name__ == "__main__":
    raise SystemExit(main())
