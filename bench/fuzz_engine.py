"""A raw-bytes fuzz target for the AMQP engine, run outside CI (results: bench/RESULTS-fuzz.md).

Each input goes to a fresh :class:`~fakebroker.amqp.Engine` on a fresh broker
and virtual clock. Its first byte picks where the bytes start: before the
protocol header, after it, after start-ok and tune-ok, or on an open
connection with channel 1 open; the rest is fed in chunks the next byte
sizes, then the clock is run 60 s forward (close and heartbeat timers) and
the transport is lost.

- a crash is any exception out of the engine, or an internal error the engine
  caught and answered with 541 (logged on ``fakebroker.amqp``): the engine's
  own protocol errors are answers, not crashes;
- a hang is an input taking more than ``--hang`` seconds (default 1 s).

``python bench/fuzz_engine.py`` runs under atheris (libFuzzer: coverage
guided, ``-runs=N`` and other libFuzzer flags pass through);
``python bench/fuzz_engine.py --plain --runs N [--seed S]`` runs a plain
random loop (random bytes and mutated valid frames) without atheris, and
prints crashes, hangs, the time and RSS before and after.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import struct
import sys
import time
import traceback
from typing import Any

from pamqp import commands as C
from pamqp import frame as pframe

from fakebroker.amqp import Engine
from fakebroker.core import Broker, VirtualClock

PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


def _method(channel: int, method: Any) -> bytes:
    return bytes(pframe.marshal(method, channel))


_START_OK = _method(
    0, C.Connection.StartOk({"capabilities": {"consumer_cancel_notify": True}}, "PLAIN",
                            "\0guest\0guest", "en_US"),
)  # fmt: skip
_TUNE_OK = _method(0, C.Connection.TuneOk(2047, 131072, 0))
_OPEN = _method(0, C.Connection.Open(virtual_host="/"))
_CHANNEL = _method(1, C.Channel.Open())
STAGES = (b"", PROTOCOL_HEADER, PROTOCOL_HEADER + _START_OK + _TUNE_OK, None)
_OPENED = PROTOCOL_HEADER + _START_OK + _TUNE_OK + _OPEN + _CHANNEL


class _Failures(logging.Handler):
    """Collects the engine's internal errors (it logs them and answers 541)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


FAILURES = _Failures()
logging.getLogger("fakebroker.amqp").addHandler(FAILURES)
logging.getLogger("fakebroker.amqp").propagate = False


class InternalError(Exception):
    """The engine caught an exception of its own and answered 541."""


def run_one(data: bytes) -> None:
    """Feed one input to a fresh engine; raise on a crash."""
    if not data:
        return
    stage, size = data[0] % 4, 1 + (data[1] % 64 if len(data) > 1 else 64)
    payload = data[2:]
    clock = VirtualClock()
    broker = Broker(clock=clock)
    engine = Engine(broker=broker, peer="127.0.0.1:5555", local="127.0.0.1:5672")
    FAILURES.records.clear()
    prefix = STAGES[stage]
    engine.receive_data(_OPENED if prefix is None else prefix or b"")
    engine.data_to_send()
    for start in range(0, len(payload), size):
        engine.receive_data(payload[start : start + size])
        engine.data_to_send()
        if engine.closed:
            break
    clock.advance(60.0)
    engine.data_to_send()
    engine.connection_lost()
    if FAILURES.records:
        record = FAILURES.records[0]
        raise InternalError("".join(traceback.format_exception(*record.exc_info or (None,))))


# -- the plain loop ----------------------------------------------------------------------------


def _header(size: int) -> bytes:
    """A content header for channel 1 with no properties."""
    payload = struct.pack(">HHQH", 60, 0, size, 0)
    return struct.pack(">BHI", 2, 1, len(payload)) + payload + b"\xce"


_VALID = [
    _method(1, C.Queue.Declare(queue="q", arguments={"x-message-ttl": 5, "h": {"k": [1, "v"]}})),
    _method(1, C.Basic.Publish(exchange="", routing_key="q")),
    _header(3),
    b"\x03\x00\x01\x00\x00\x00\x03abc\xce",
    _method(1, C.Basic.Get(queue="q")),
    _method(1, C.Basic.Consume(queue="q")),
    _method(1, C.Basic.Ack(delivery_tag=1)),
    _method(1, C.Channel.Close(200, "bye", 0, 0)),
    _method(0, C.Connection.Close(200, "bye", 0, 0)),
    b"\x08\x00\x00\x00\x00\x00\x00\xce",
]


def random_input(rng: random.Random) -> bytes:
    """Random bytes, or valid frames with a few bytes broken (half each)."""
    head = bytes((rng.randrange(4), rng.randrange(256)))
    if rng.random() < 0.5:
        return head + rng.randbytes(rng.randrange(0, 200))
    data = bytearray(b"".join(rng.choice(_VALID) for _ in range(rng.randrange(1, 6))))
    for _ in range(rng.randrange(1, 4)):
        at = rng.randrange(len(data))
        action = rng.randrange(3)
        if action == 0:
            data[at] = rng.randrange(256)
        elif action == 1:
            del data[at : at + rng.randrange(1, 8)]
        else:
            data[at:at] = rng.randbytes(rng.randrange(1, 8))
        if not data:
            break
    return head + bytes(data)


def rss_kib() -> int:
    """The process's resident set size now, in KiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def plain(runs: int, seed: int, hang: float) -> int:
    """The plain random loop; returns the number of crashes."""
    rng = random.Random(seed)
    crashes: list[tuple[bytes, str]] = []
    hangs: list[tuple[bytes, float]] = []
    rss_before, started, slowest = rss_kib(), time.perf_counter(), 0.0
    for index in range(runs):
        data = random_input(rng)
        began = time.perf_counter()
        try:
            run_one(data)
        except Exception:
            crashes.append((data, traceback.format_exc()))
        took = time.perf_counter() - began
        slowest = max(slowest, took)
        if took > hang:
            hangs.append((data, took))
        if index and index % 100_000 == 0:
            print(f"{index} inputs, {len(crashes)} crashes, RSS {rss_kib()} KiB", flush=True)
    elapsed = time.perf_counter() - started
    print(f"inputs: {runs} (seed {seed}) in {elapsed:.0f} s ({runs / elapsed:.0f}/s)")
    print(f"crashes: {len(crashes)}; hangs (> {hang} s): {len(hangs)}; slowest {slowest:.3f} s")
    print(f"RSS before: {rss_before} KiB, after: {rss_kib()} KiB")
    for data, text in crashes[:5]:
        print(f"--- crash on {data.hex()}\n{text}")
    return len(crashes)


def _atheris(argv: list[str]) -> None:
    import atheris  # type: ignore[import-not-found]  # only outside CI

    def target(data: bytes) -> None:
        run_one(data)

    atheris.instrument_all()  # coverage of every module loaded (fakebroker, pamqp)
    atheris.Setup([sys.argv[0], *argv], target)
    atheris.Fuzz()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain", action="store_true", help="a random loop, without atheris")
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hang", type=float, default=1.0)
    args, rest = parser.parse_known_args()
    if args.plain:
        sys.exit(1 if plain(args.runs, args.seed, args.hang) else 0)
    _atheris(rest)


if __name__ == "__main__":
    main()
