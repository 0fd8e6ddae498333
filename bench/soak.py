#!/usr/bin/env python3
"""Soak: many connections x channels publishing with confirms and consuming, for a while.

    python bench/soak.py [--connections 200] [--channels 5] [--seconds 60] [--rate 2]
                         [--size 256] [--stagger] [--repeats N] [--probe RATE]
                         [--server-timing] [--skip-rabbitmq] [--output bench/RESULTS-soak.md]
    python bench/soak.py --latency   # 20 x 5 at 4 msg/s, staggered, probed, 30 s, 3 repeats

The same aio-pika client runs against ``fakebroker serve`` (its own process,
port 0) and the real RabbitMQ at 127.0.0.1:5672, one after the other
(``--repeats`` alternates them). Each channel is in confirm mode, has its
own queue and its own consumer (acks), and publishes ``--rate`` messages
per second with a unique id; ``--stagger`` spreads the channels' phases over
one interval (a steady stream instead of every channel publishing at the
same instant). Reported: messages published, confirmed, delivered; lost
(confirmed, never delivered) and unexpected (delivered twice, or never
published); publish-to-confirm latency p50/p99 as aio-pika sees it; the
server's RSS at the start and at the end and its CPU time per message (its
process, or RabbitMQ's beam.smp); the client's CPU per message; the 1-minute
load average.

Separating the client's time from the server's: ``--probe RATE`` runs, in
its own process beside the soak, a raw-socket AMQP client (blocking socket,
frames pre-encoded, no aio-pika) that publishes RATE messages per second
with confirms on one more connection and times publish-sent to
basic.ack-received at the socket: the server's latency under the soak's
load, with almost no client in it. ``--server-timing`` (fakebroker only)
runs ``serve`` with its TCP front's input callback wrapped: the time from
a chunk of bytes handed to the front to its output written (engine and
flush, the server-side "frame in to confirm out"), and the event loop's
lag (how late a 10 ms timer fires). The wrapping lives in this script: the
served code is unchanged. Loopback only, bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika

ROOT = Path(__file__).resolve().parents[1]
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
TICK = os.sysconf("SC_CLK_TCK")


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
    client_cpu: float = 0.0


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (0 if unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _rabbitmq_pid() -> int:
    found = subprocess.run(["pgrep", "-f", "beam.smp"], capture_output=True, text=True)
    pids = [int(p) for p in found.stdout.split()]
    return pids[0] if pids else 0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def _channel_worker(
    connection: aio_pika.abc.AbstractConnection,
    tally: Tally,
    args: argparse.Namespace,
    start: float,
    stop: float,
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
    next_at = start
    await asyncio.sleep(max(0.0, next_at - time.monotonic()))
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


async def _soak(url: str, args: argparse.Namespace, stop: float) -> Tally:
    tally = Tally()
    connections = [await aio_pika.connect(url, heartbeat=0) for _ in range(args.connections)]
    workers = args.connections * args.channels
    begin = time.monotonic() + 0.5
    spread = (1.0 / args.rate) / workers if args.stagger else 0.0
    cpu = time.process_time()
    await asyncio.gather(
        *(
            _channel_worker(conn, tally, args, begin + spread * (i * args.channels + j), stop)
            for i, conn in enumerate(connections)
            for j in range(args.channels)
        )
    )
    tally.client_cpu = time.process_time() - cpu
    deadline = time.monotonic() + 10
    while len(tally.received) < len(tally.confirmed_ids) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # in-flight deliveries: bounded wait, then counted as lost
    for conn in connections:
        await conn.close()
    return tally


# -- the raw-socket probe -------------------------------------------------------------------


def _method(channel: int, method: object) -> bytes:
    from pamqp import frame

    return frame.marshal(method, channel)  # type: ignore[arg-type]


def _probe_main(url: str, rate: float, seconds: float, out: str) -> None:
    """Publish ``rate``/s with confirms on one blocking socket; time publish to basic.ack."""
    from urllib.parse import urlsplit

    from pamqp import body, commands, header

    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray()

    def frames() -> tuple[int, int, bytes]:
        while True:
            if len(buf) >= 7:
                kind, channel, size = struct.unpack_from(">BHI", buf)
                if len(buf) >= size + 8:
                    payload = bytes(buf[7 : 7 + size])
                    del buf[: size + 8]
                    return kind, channel, payload
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the probe's connection")
            buf.extend(chunk)

    def until(class_id: int, method_id: int) -> None:
        while True:
            kind, _, payload = frames()
            if kind == 1 and struct.unpack_from(">HH", payload) == (class_id, method_id):
                return

    sock.sendall(header.ProtocolHeader().marshal())
    until(10, 10)
    sock.sendall(_method(0, commands.Connection.StartOk(response="\0guest\0guest")))
    until(10, 30)
    sock.sendall(_method(0, commands.Connection.TuneOk(2047, 131072, 0)))
    sock.sendall(_method(0, commands.Connection.Open(virtual_host="/")))
    until(10, 41)
    sock.sendall(_method(1, commands.Channel.Open()))
    until(20, 11)
    sock.sendall(_method(1, commands.Confirm.Select()))
    until(85, 11)
    queue = f"soak-probe-{uuid.uuid4().hex}"
    sock.sendall(_method(1, commands.Queue.Declare(queue=queue, exclusive=True)))
    until(50, 11)
    sock.sendall(_method(1, commands.Basic.Consume(queue=queue, no_ack=True)))
    until(60, 21)
    content = b"p" * 256
    publish = (
        _method(1, commands.Basic.Publish(routing_key=queue))
        + _method(1, header.ContentHeader(0, len(content), commands.Basic.Properties()))
        + _method(1, body.ContentBody(content))
    )
    latencies: list[float] = []
    interval = 1.0 / rate
    stop = time.monotonic() + seconds
    next_at = time.monotonic()
    while time.monotonic() < stop:
        started = time.perf_counter()
        sock.sendall(publish)
        until(60, 80)
        latencies.append(time.perf_counter() - started)
        next_at += interval
        # pacing a real server in real time (a benchmark, not a test): no clock can stand in
        time.sleep(max(0.0, next_at - time.monotonic()))
    Path(out).write_text(json.dumps(latencies))
    sock.sendall(_method(0, commands.Connection.Close(200, "bye", 0, 0)))
    until(10, 51)
    sock.close()


def _start_probe(
    url: str, args: argparse.Namespace, seconds: float
) -> tuple[subprocess.Popen[bytes], str] | None:
    if not args.probe:
        return None
    out = tempfile.mktemp(prefix="soak-probe-", suffix=".json")
    cmd = [sys.executable, __file__, "--_probe", url, str(args.probe), str(seconds), out]
    return subprocess.Popen(cmd, cwd=ROOT), out


def _probe_result(probe: tuple[subprocess.Popen[bytes], str] | None) -> list[float]:
    if probe is None:
        return []
    proc, out = probe
    proc.wait(30)
    try:
        return list(json.loads(Path(out).read_text()))
    except OSError:
        return []
    finally:
        Path(out).unlink(missing_ok=True)


# -- fakebroker serve, optionally timed -----------------------------------------------------


def _timed_serve_main(out: str, argv: list[str]) -> int:
    """``fakebroker serve`` with the TCP front's input callback and the loop's lag timed."""
    import asyncio as aio
    import atexit

    from fakebroker import cli
    from fakebroker.fronts import tcp

    feed = tcp._ClientConnection._feed  # noqa: SLF001  # timing wrapper, bench only
    chunks: list[float] = []
    lags: list[float] = []

    def timed_feed(self: tcp._ClientConnection, data: bytes) -> None:
        started = time.perf_counter()
        feed(self, data)
        chunks.append(time.perf_counter() - started)

    tcp._ClientConnection._feed = timed_feed  # type: ignore[method-assign]  # noqa: SLF001
    start = tcp.AMQPServer.start

    async def timed_start(self: tcp.AMQPServer) -> None:
        await start(self)
        loop = aio.get_running_loop()

        def tick(due: float) -> None:
            now = loop.time()
            lags.append(now - due)
            loop.call_at(now + 0.01, tick, now + 0.01)

        loop.call_soon(tick, loop.time())

    tcp.AMQPServer.start = timed_start  # type: ignore[method-assign]
    atexit.register(lambda: Path(out).write_text(json.dumps({"chunks": chunks, "lags": lags})))
    return cli.main(argv)


def _serve(args: argparse.Namespace) -> tuple[subprocess.Popen[str], str, str | None]:
    serve = ["serve", "--port", "0", "--log-level", "warning"]
    timing = None
    if args.server_timing:
        timing = tempfile.mktemp(prefix="soak-timing-", suffix=".json")
        cmd = [sys.executable, __file__, "--_timed-serve", timing, *serve]
    else:
        cmd = [sys.executable, "-m", "fakebroker", *serve]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip(), timing


def _start_spy(pid: int, args: argparse.Namespace, repeat: int) -> subprocess.Popen[bytes] | None:
    """py-spy (if asked for, and installed) sampling the server for the run's length."""
    if not args.py_spy:
        return None
    spy = Path(sys.executable).with_name("py-spy")
    out = f"{args.py_spy}.{repeat}" if args.repeats > 1 else args.py_spy
    cmd = [str(spy), "record", "--pid", str(pid), "--rate", "1000", "--format", "raw"]
    cmd += ["--duration", str(int(args.seconds)), "--output", out, "--nonblocking"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _timing_result(path: str | None) -> dict[str, list[float]]:
    if path is None:
        return {}
    try:
        return dict(json.loads(Path(path).read_text()))
    except OSError:
        return {}
    finally:
        Path(path).unlink(missing_ok=True)


# -- runs and the report ------------------------------------------------------------------


def _run(
    name: str, url: str, pid: int, args: argparse.Namespace
) -> tuple[Tally, dict[str, object]]:
    load = os.getloadavg()[0]
    before, cpu = _rss_kib(pid), _cpu_s(pid)
    stop = time.monotonic() + args.seconds
    probe = _start_probe(url, args, args.seconds)
    tally = asyncio.run(_soak(url, args, stop))
    server_cpu = _cpu_s(pid) - cpu
    row = _row(name, tally, (before, _rss_kib(pid)), args.seconds)
    probed = _probe_result(probe)
    per_msg = max(1, tally.confirmed + len(probed))
    row.update(
        load=load,
        server_cpu_us=server_cpu / per_msg * 1e6,
        client_cpu_us=tally.client_cpu / max(1, tally.confirmed) * 1e6,
        probe_n=len(probed),
        probe_p50_ms=_pct(probed, 0.5) * 1000,
        probe_p99_ms=_pct(probed, 0.99) * 1000,
    )
    return tally, row


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
        "p99_ms": _pct(lat, 0.99) * 1000,
        "rss_start_mib": rss[0] / 1024,
        "rss_end_mib": rss[1] / 1024,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--connections", type=int)
    parser.add_argument("--channels", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--rate", type=float, help="messages/s per channel")
    parser.add_argument("--size", type=int, default=256, help="body bytes")
    parser.add_argument("--stagger", action="store_true", help="spread the channels' phases")
    parser.add_argument("--repeats", type=int, help="alternate the servers this many times")
    parser.add_argument("--probe", type=float, help="raw-socket probe messages/s (0: none)")
    parser.add_argument("--server-timing", action="store_true", help="time fakebroker's front")
    parser.add_argument(
        "--latency",
        action="store_true",
        help="20 x 5 at 4 msg/s, staggered, probe 20/s, server timing, 30 s, 3 repeats",
    )
    parser.add_argument(
        "--py-spy", metavar="FILE", help="sample fakebroker with py-spy (collapsed stacks to FILE)"
    )
    parser.add_argument("--skip-rabbitmq", action="store_true")
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS-soak.md"))
    return parser


def _defaults(args: argparse.Namespace) -> None:
    preset = (
        {
            "connections": 20,
            "channels": 5,
            "rate": 4.0,
            "seconds": 30.0,
            "repeats": 3,
            "probe": 20.0,
        }
        if args.latency
        else {
            "connections": 200,
            "channels": 5,
            "rate": 2.0,
            "seconds": 60.0,
            "repeats": 1,
            "probe": 0.0,
        }
    )
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.latency:
        args.stagger = args.server_timing = True


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--_probe":
        url, rate, seconds, out = sys.argv[2:6]
        _probe_main(url, float(rate), float(seconds), out)
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--_timed-serve":
        return _timed_serve_main(sys.argv[2], sys.argv[3:])
    args = _parser().parse_args()
    _defaults(args)
    rows = []
    for repeat in range(1, args.repeats + 1):
        proc, url, timing = _serve(args)
        spy = _start_spy(proc.pid, args, repeat)
        try:
            _, row = _run("fakebroker serve", url, proc.pid, args)
        finally:
            if spy is not None:
                spy.wait(30)
            proc.terminate()
            proc.wait(10)
        times = _timing_result(timing)
        if times:
            row.update(
                chunk_p50_ms=_pct(times["chunks"], 0.5) * 1000,
                chunk_p99_ms=_pct(times["chunks"], 0.99) * 1000,
                lag_p50_ms=_pct(times["lags"], 0.5) * 1000,
                lag_p99_ms=_pct(times["lags"], 0.99) * 1000,
            )
        rows.append({**row, "repeat": repeat})
        if not args.skip_rabbitmq:
            _, row = _run("RabbitMQ 3.10.8", RABBITMQ_URL, _rabbitmq_pid(), args)
            rows.append({**row, "repeat": repeat})
    _write(args, rows)
    return 0 if all(r["lost"] == 0 and r["unexpected"] == 0 for r in rows) else 1


def _write(args: argparse.Namespace, rows: list[dict[str, object]]) -> None:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    extra = ", staggered" if args.stagger else ""
    head = (
        f"## Soak, {stamp}: {args.connections} connections x {args.channels} channels, "
        f"{args.rate:g} msg/s each{extra}, {args.size} B bodies, {args.seconds:g} s\n\n"
        "| backend | run | load 1m | published | confirmed | delivered | lost | unexpected "
        "| confirmed/s | p50 ms | p99 ms | probe p50 ms | probe p99 ms | server chunk p50/p99 ms "
        "| loop lag p50/p99 ms | server CPU µs/msg | client CPU µs/msg "
        "| RSS start MiB | RSS end MiB |\n" + "|---" * 19 + "|\n"
    )
    lines = []
    for r in rows:
        probe = (
            f"{r['probe_p50_ms']:.2f} | {r['probe_p99_ms']:.2f}" if r.get("probe_n") else "- | -"
        )
        chunk = f"{r['chunk_p50_ms']:.3f} / {r['chunk_p99_ms']:.3f}" if "chunk_p50_ms" in r else "-"
        lag = f"{r['lag_p50_ms']:.2f} / {r['lag_p99_ms']:.2f}" if "lag_p50_ms" in r else "-"
        lines.append(
            f"| {r['backend']} | {r['repeat']} | {r['load']:.2f} | {r['published']:,} "
            f"| {r['confirmed']:,} | {r['delivered']:,} | {r['lost']} | {r['unexpected']} "
            f"| {r['rate']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {probe} | {chunk} "
            f"| {lag} | {r['server_cpu_us']:.0f} | {r['client_cpu_us']:.0f} "
            f"| {r['rss_start_mib']:.0f} | {r['rss_end_mib']:.0f} |"
        )
    text = head + "\n".join(lines) + "\n\n"
    print(text)
    path = Path(args.output)
    old = path.read_text() if path.exists() else "# Soak results (bench/soak.py)\n\n"
    path.write_text(old + text)


if __name__ == "__main__":
    raise SystemExit(main())
