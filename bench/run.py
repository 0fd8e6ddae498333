#!/usr/bin/env python3
"""Every benchmark of the project in one run; writes bench/RESULTS.md.

    python bench/run.py [--quick] [--skip-rabbitmq] [--repeats N] [--no-profile]
                        [--output bench/RESULTS.md]

Workloads (each in its own subprocess, repeated and interleaved across
backends so that the machine's noise hits them alike; medians are reported
with the min-max spread):

1. the core alone (bench/bench_core.py) and the routing micro-benchmark
   (bench/bench_routing.py);
2. kombu throughput, 20,000 x 100 B publish then consume + ack (prefetch 100)
   (bench/bench_kombu.py throughput);
3. the per-test cycle (bench/bench_kombu.py cycle);
4. Celery ``delay().get()`` round trips (bench/bench_celery.py);
5. taskpost vs Celery (bench/bench_taskpost.py, when it exists);
6. ``fakebroker serve`` start-up: from the command to the printed URL;
7. instructions per cycle and per message in-process, under callgrind
   (bench/_callgrind.py), where valgrind is installed;
8. hardening (bench/_hardening.py): the engine fuzz (1,000,000 inputs), the
   soak at 200 and at 20 connections, and the byte-cut chaos trials.

Backends: kombu's ``memory://``, ``fakebroker://`` (in-process),
``fakebroker serve`` (TCP, ``python -m fakebroker serve --port 0`` in its own
process, one per workload) and the real RabbitMQ at 127.0.0.1:5672 (pyamqp),
skipped when unreachable.  Targets that are missed are profiled (cProfile,
or a sampler of all threads for Celery) and the top of each profile goes
into RESULTS.md, with the hand-written analysis of bench/ANALYSIS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import importlib.metadata
import io
import json
import os
import platform
import pstats
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
MEMORY, INPROC, TCP, RABBIT = "memory://", "fakebroker://", "fakebroker serve", "RabbitMQ"
CLIENT_ONLY = "kombu + py-amqp alone (client of fakebroker serve)"
SUBPROCESS_TIMEOUT = 900.0


def log(text: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def child_env() -> dict[str, str]:
    """The environment of benchmark subprocesses: this checkout first on the path."""
    env = dict(os.environ)
    parts = [str(ROOT), str(BENCH)]
    if env.get("PYTHONPATH"):
        parts.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def run_json(args: list[str], timeout: float = SUBPROCESS_TIMEOUT) -> dict[str, Any]:
    """Run a Python script that prints a JSON object last; the object, or an error entry."""
    command = [sys.executable, *args]
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=child_env(), cwd=ROOT
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            result: dict[str, Any] = json.loads(line)
            result.setdefault("ok", proc.returncode == 0)
            if not result["ok"] and "error" not in result:
                result["error"] = _tail(proc.stderr)
            return result
    return {"ok": False, "error": f"exit {proc.returncode}: {_tail(proc.stderr)}"}


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no output)"


# --- backends -------------------------------------------------------------------


def rabbitmq_version() -> str | None:
    """The version of the RabbitMQ at 127.0.0.1:5672, or None when unreachable."""
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1.0):
            pass
        import amqp

        conn = amqp.Connection("127.0.0.1:5672", connect_timeout=2)
        conn.connect()
        try:
            version = conn.server_properties.get("version", "?")
        finally:
            conn.close()
        return version.decode() if isinstance(version, bytes) else str(version)
    except Exception:
        return None


@contextmanager
def fakebroker_server(command: list[str] | None = None) -> Iterator[str]:
    """``python -m fakebroker serve --port 0`` in a subprocess; yields its URL."""
    argv = command or ["-m", "fakebroker", "serve", "--port", "0"]
    proc = subprocess.Popen(
        [sys.executable, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=child_env(),
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("amqp://"):
            raise RuntimeError(f"fakebroker serve printed {url!r}")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- results --------------------------------------------------------------------


@dataclass
class Series:
    """Repeated measurements of one workload on one backend."""

    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def good(self) -> list[dict[str, Any]]:
        return [run for run in self.runs if run.get("ok", True) and "error" not in run]

    @property
    def error(self) -> str | None:
        if self.good or not self.runs:
            return None
        return str(self.runs[-1].get("error", "failed"))

    def median(self, key: str) -> float | None:
        values = [float(run[key]) for run in self.good if run.get(key) is not None]
        return statistics.median(values) if values else None

    def spread(self, key: str) -> tuple[float, float] | None:
        values = [float(run[key]) for run in self.good if run.get(key) is not None]
        return (min(values), max(values)) if len(values) > 1 else None


def interleaved(
    backends: dict[str, str], repeats: int, measure: Callable[[str, str], dict[str, Any]]
) -> dict[str, Series]:
    """measure(name, url) ``repeats`` times per backend, round-robin."""
    series = {name: Series() for name in backends}
    for rep in range(repeats):
        for name, url in backends.items():
            log(f"  {name} (run {rep + 1}/{repeats})")
            result = measure(name, url)
            if "error" in result:
                log(f"    failed: {result['error']}")
            series[name].runs.append(result)
    return series


def fmt(value: float | None, unit: str = "") -> str:
    """A figure with a precision that suits its size."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return text + unit


def cell(series: Series | None, key: str) -> str:
    """Median with the min-max spread of the runs."""
    if series is None:
        return "-"
    if series.error:
        return "failed"
    median = series.median(key)
    spread = series.spread(key)
    if spread is None:
        return fmt(median)
    return f"{fmt(median)} ({fmt(spread[0])}-{fmt(spread[1])})"


def ratio(a: float | None, b: float | None) -> str:
    """a / b as '1.23x'."""
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


@dataclass
class Target:
    """One of the project's performance targets."""

    key: str
    text: str
    measured: str
    met: bool | None  # None: not measured
    note: str = ""

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**missed**", None: "not measured"}[self.met]


# --- the run --------------------------------------------------------------------


@dataclass
class Config:
    """Sizes of a full or a quick run."""

    repeats: int
    core_n: int
    memory_n: int
    tp_n: int
    cycle_iters: int
    celery_n: int
    taskpost_rt: int
    taskpost_tasks: int

    @classmethod
    def make(cls, quick: bool, repeats: int | None) -> Config:
        if quick:
            return cls(repeats or 1, 50_000, 1_000_000, 5_000, 60, 150, 100, 1_000)
        return cls(repeats or 5, 200_000, 1_000_000, 20_000, 300, 500, 300, 10_000)


class Run:
    """Runs every workload and renders RESULTS.md."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cfg = Config.make(args.quick, args.repeats)
        self.rabbit_version = None if args.skip_rabbitmq else rabbitmq_version()
        self.sections: list[str] = []
        self.targets: list[Target] = []
        self.profiles: list[str] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="fakebroker-bench-"))
        self.load_before = os.getloadavg()
        self.cpu_before = cpu_times()
        self.started = datetime.datetime.now().astimezone()
        self.t0 = time.perf_counter()

    # backends ---------------------------------------------------------------

    def backends(self, tcp_url: str) -> dict[str, str]:
        found = {MEMORY: "memory://", INPROC: "fakebroker://", TCP: tcp_url}
        if self.rabbit_version:
            found[RABBIT] = RABBITMQ
        return found

    # workloads --------------------------------------------------------------

    def core(self) -> None:
        log("1. core alone (bench_core.py)")
        cfg = self.cfg
        runs = [
            run_json(
                [
                    str(BENCH / "bench_core.py"),
                    "--n",
                    str(cfg.core_n),
                    "--memory-n",
                    str(cfg.memory_n),
                ]
            )
            for _ in range(max(1, cfg.repeats - 1))
        ]
        series = Series(runs)
        rows = [
            ("direct exchange, 1 consumer, journal off", "direct_msgs_per_s", "msg/s"),
            ("direct exchange, 1 consumer, journal on", "direct_with_journal_msgs_per_s", "msg/s"),
            ("topic exchange, 10,000 bindings", "topic_10k_bindings_msgs_per_s", "msg/s"),
            (f"{cfg.memory_n:,} queued 100 B messages (tracemalloc)", "queued_1m_MB", "MB"),
        ]
        lines = [
            "## 1. The core alone (`bench/bench_core.py`)",
            "",
            f"Publish + route + deliver + ack of {cfg.core_n:,} x 100 B messages through "
            "`fakebroker.core` with no protocol and no client (each process: the median "
            f"of 3 runs after a warm-up; {len(runs)} process(es)).",
            "",
            "| workload | median (spread) | unit |",
            "|---|---|---|",
        ]
        lines += [f"| {label} | {cell(series, key)} | {unit} |" for label, key, unit in rows]
        self.sections.append("\n".join(lines))
        direct = series.median("direct_msgs_per_s")
        topic = series.median("topic_10k_bindings_msgs_per_s")
        memory = series.median("queued_1m_MB")
        self.targets += [
            Target("core-direct", "core, direct: >= 200,000 msg/s", fmt(direct, " msg/s"),
                   None if direct is None else direct >= 200_000),
            Target("core-topic", "core, 10,000 topic bindings: >= 50,000 msg/s",
                   fmt(topic, " msg/s"), None if topic is None else topic >= 50_000),
            Target("core-memory", "core, 1,000,000 queued 100 B messages: <= 400 MB",
                   fmt(memory, " MB"), None if memory is None else memory <= 400),
        ]  # fmt: skip
        if not self.args.quick:
            log("   routing micro-benchmark (bench_routing.py)")
            proc = subprocess.run(
                [sys.executable, str(BENCH / "bench_routing.py")],
                capture_output=True,
                text=True,
                env=child_env(),
                cwd=ROOT,
                timeout=SUBPROCESS_TIMEOUT,
            )
            output = proc.stdout.strip() or _tail(proc.stderr)
            self.sections.append(
                "### Routing micro-benchmark (`bench/bench_routing.py`, one run)\n\n"
                f"```\n{output}\n```"
            )

    def throughput(self) -> None:
        cfg = self.cfg
        log(f"2. kombu throughput, {cfg.tp_n:,} x 100 B")
        with fakebroker_server() as tcp_url:
            series = interleaved(
                self.backends(tcp_url),
                cfg.repeats,
                lambda name, url: run_json(
                    [str(BENCH / "bench_kombu.py"), "throughput", "--url", url,
                     "--n", str(cfg.tp_n)]
                ),
            )  # fmt: skip
        key = "total_msgs_per_s"
        mem, rab = series[MEMORY].median(key), _median(series.get(RABBIT), key)
        lines = [
            "## 2. kombu throughput (`bench/bench_kombu.py throughput`)",
            "",
            f"Publish {cfg.tp_n:,} x 100 B through one Producer, then consume and ack them "
            "(prefetch 100), kombu + py-amqp as the client for every AMQP backend. "
            "Total = messages / (publish time + consume time); CPU is the benchmark "
            "process's (client only over TCP, client + broker in-process). "
            f"Median (min-max) of {cfg.repeats} run(s).",
            "",
            "| backend | publish msg/s | consume msg/s | total msg/s | total vs memory:// "
            "| total vs RabbitMQ | client-process CPU us/msg, publish / consume |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, s in series.items():
            lines.append(
                f"| {name} | {cell(s, 'publish_msgs_per_s')} | {cell(s, 'consume_msgs_per_s')} "
                f"| {cell(s, key)} | {ratio(s.median(key), mem)} | {ratio(s.median(key), rab)} "
                f"| {fmt(s.median('publish_cpu_us'))} / {fmt(s.median('consume_cpu_us'))} |"
            )
        self.sections.append("\n".join(lines))
        for phase in ("publish", "consume"):
            k = f"{phase}_msgs_per_s"
            inproc, memory = series[INPROC].median(k), series[MEMORY].median(k)
            self.targets.append(
                Target(
                    f"kombu-inproc-{phase}",
                    f"kombu {phase}: fakebroker:// >= memory://",
                    f"{fmt(inproc)} vs {fmt(memory)} msg/s ({ratio(inproc, memory)})",
                    None if inproc is None or memory is None else inproc >= memory,
                )
            )
        for phase in ("publish", "consume"):
            k = f"{phase}_msgs_per_s"
            tcp, rabbit = series[TCP].median(k), _median(series.get(RABBIT), k)
            self.targets.append(
                Target(
                    f"kombu-tcp-{phase}",
                    f"kombu {phase}: fakebroker serve >= RabbitMQ (same client)",
                    f"{fmt(tcp)} vs {fmt(rabbit)} msg/s ({ratio(tcp, rabbit)})",
                    None if tcp is None or rabbit is None else tcp >= rabbit,
                )
            )
        if self._should_profile("kombu-inproc-"):
            self.profile_kombu("throughput", ["--n", str(min(cfg.tp_n, 10_000))])
        if self._should_profile("kombu-tcp-"):
            self.profile_server("throughput", ["throughput", "--n", str(min(cfg.tp_n, 10_000))])

    def cycle(self) -> None:
        cfg = self.cfg
        log(f"3. per-test cycle, {cfg.cycle_iters} iterations")
        with fakebroker_server() as tcp_url:
            series = interleaved(
                self.backends(tcp_url),
                cfg.repeats,
                lambda name, url: run_json(
                    [str(BENCH / "bench_kombu.py"), "cycle", "--url", url,
                     "--iters", str(cfg.cycle_iters)]
                ),
            )  # fmt: skip
        mem, rab = series[MEMORY].median("median_ms"), _median(series.get(RABBIT), "median_ms")
        lines = [
            "## 3. The per-test cycle (`bench/bench_kombu.py cycle`)",
            "",
            "Connect, declare exchange + queue + binding, publish 1, consume and ack it, "
            f"delete the queue, close: {cfg.cycle_iters} iterations after 5 warm-ups; "
            "'first' is the first iteration of the process (imports, broker creation). "
            f"Median (min-max) of {cfg.repeats} run(s); speed-up = other's median / this one's.",
            "",
            "| backend | median ms | p95 ms | first ms | CPU ms (client process) "
            "| speed-up vs memory:// | speed-up vs RabbitMQ |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, s in series.items():
            median = s.median("median_ms")
            lines.append(
                f"| {name} | {cell(s, 'median_ms')} | {cell(s, 'p95_ms')} | "
                f"{cell(s, 'first_ms')} | {cell(s, 'cpu_ms')} | "
                f"{ratio(mem, median)} | {ratio(rab, median)} |"
            )
        self.sections.append("\n".join(lines))
        inproc = series[INPROC].median("median_ms")
        self.targets += [
            Target("cycle-memory", "per-test cycle: fakebroker:// no slower than memory:// "
                   "(median)", f"{fmt(inproc)} vs {fmt(mem)} ms ({ratio(mem, inproc)})",
                   None if inproc is None or mem is None else inproc <= mem),
            Target("cycle-rabbitmq", "per-test cycle: fakebroker:// >= 10x faster than "
                   "RabbitMQ (median)", f"{fmt(inproc)} vs {fmt(rab)} ms ({ratio(rab, inproc)})",
                   None if inproc is None or rab is None else rab >= 10 * inproc),
        ]  # fmt: skip
        if self._should_profile("cycle-"):
            self.profile_kombu("cycle", ["--iters", str(max(cfg.cycle_iters, 100))])

    def celery(self) -> None:
        cfg = self.cfg
        log(f"4. Celery delay().get(), {cfg.celery_n} round trips")
        with fakebroker_server() as tcp_url:
            series = interleaved(
                self.backends(tcp_url),
                cfg.repeats,
                lambda name, url: run_json(
                    [str(BENCH / "bench_celery.py"), "--broker", url, "--n", str(cfg.celery_n)]
                ),
            )
        key = "roundtrips_per_s"
        mem, rab = series[MEMORY].median(key), _median(series.get(RABBIT), key)
        lines = [
            "## 4. Celery round trips (`bench/bench_celery.py`)",
            "",
            f"{cfg.celery_n} sequential `add.delay(i, 1).get()` with "
            "`celery.contrib.testing.worker.start_worker` (pool solo, in the client's "
            "process) and `rpc://` results; memory:// polls every 1 ms. "
            f"Median (min-max) of {cfg.repeats} run(s).",
            "",
            "| backend | round trips/s | median ms | p95 ms | CPU ms per round trip "
            "(client process) | vs memory:// | vs RabbitMQ |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, s in series.items():
            lines.append(
                f"| {name} | {cell(s, key)} | {cell(s, 'median_ms')} | {cell(s, 'p95_ms')} | "
                f"{cell(s, 'cpu_ms_per_roundtrip')} | "
                f"{ratio(s.median(key), mem)} | {ratio(s.median(key), rab)} |"
            )
        self.sections.append("\n".join(lines))
        inproc = series[INPROC].median(key)
        self.targets.append(
            Target(
                "celery-rabbitmq",
                "Celery round trips: fakebroker:// >= 3x RabbitMQ",
                f"{fmt(inproc)} vs {fmt(rab)} /s ({ratio(inproc, rab)})",
                None if inproc is None or rab is None else inproc >= 3 * rab,
            )
        )
        if self._should_profile("celery-"):
            self.profile_celery()

    def taskpost(self) -> None:
        script = BENCH / "bench_taskpost.py"
        if not script.exists():
            return
        cfg = self.cfg
        brokers = "fakebroker,redis" + (",rabbitmq" if self.rabbit_version else "")
        log(f"5. taskpost vs Celery ({brokers})")
        try:
            proc = subprocess.run(
                [sys.executable, str(script), "--brokers", brokers,
                 "--round-trips", str(cfg.taskpost_rt), "--tasks", str(cfg.taskpost_tasks)],
                capture_output=True, text=True, env=child_env(), cwd=ROOT,
                timeout=SUBPROCESS_TIMEOUT,
            )  # fmt: skip
            output = proc.stdout.strip() or f"(exit {proc.returncode}) {_tail(proc.stderr)}"
        except subprocess.TimeoutExpired:
            output = f"timed out after {SUBPROCESS_TIMEOUT:.0f} s"
        self.sections.append(
            "## 5. taskpost vs Celery (`bench/bench_taskpost.py`, one run)\n\n"
            f"`--round-trips {cfg.taskpost_rt} --tasks {cfg.taskpost_tasks} "
            f"--brokers {brokers}`; the script's own table:\n\n```\n{output}\n```"
        )

    def startup(self) -> None:
        """From the command to the URL `fakebroker serve` prints (it accepts from then on)."""
        runs = max(5, 2 * self.cfg.repeats)
        log(f"6. fakebroker serve start-up ({runs} runs)")
        times: list[float] = []
        for _ in range(runs):
            start = time.perf_counter()
            with fakebroker_server():
                times.append(time.perf_counter() - start)
        median = statistics.median(times)
        measured = f"{median:.2f} s (max {max(times):.2f} s)"
        self.targets.append(
            Target("serve-startup", "`fakebroker serve` ready (URL printed): <= 0.5 s from the "
                   "command (median)", measured, median <= 0.5)
        )  # fmt: skip
        self.sections.append(
            "## 6. `fakebroker serve` start-up\n\n"
            f"Seconds from starting `python -m fakebroker serve --port 0` to the URL it prints, "
            f"after which it accepts connections; {runs} runs (the Python interpreter's own "
            f"start-up and imports included): median {median:.2f}, min {min(times):.2f}, "
            f"max {max(times):.2f}."
        )

    def instructions(self) -> None:
        """Instructions per unit in-process (callgrind): the comparison the noise cannot move."""
        import _callgrind

        if not _callgrind.available():
            log("7. instruction counts: valgrind is not installed, skipped")
            return
        log("7. instruction counts (callgrind), memory:// and fakebroker://")
        small, large = (20, 60) if self.args.quick else (50, 150)
        n_small, n_large = (500, 1_500) if self.args.quick else (1_000, 3_000)
        rows: dict[str, tuple[float, float]] = {}
        kombu = [str(BENCH / "bench_kombu.py")]
        with fakebroker_server() as tcp_url:
            backends = (
                (MEMORY, "memory://"),
                (INPROC, "fakebroker://"),
                (CLIENT_ONLY, tcp_url),
            )
            for name, url in backends:
                rows[name] = instructions_of(kombu, url, (small, large), (n_small, n_large))
        memory = rows[MEMORY]
        lines = [
            "## 7. Instructions per unit (valgrind callgrind)",
            "",
            "Client and broker in one process, so the count is the whole cost; unlike the "
            "timings above it is the same from run to run. Marginal counts: a run of "
            f"{small} and one of {large} cycles, of {n_small:,} and {n_large:,} messages "
            "(publish + consume + ack); the difference per unit. The last row counts the "
            "client process alone (kombu + py-amqp, talking to `fakebroker serve` in another "
            "process): what no broker behind py-amqp can take away.",
            "",
            "| backend | per-test cycle | per message | cycle vs memory:// "
            "| message vs memory:// |",
            "|---|---|---|---|---|",
        ]
        for name, (cycle, message) in rows.items():
            lines.append(
                f"| {name} | {cycle / 1e6:.2f} M | {message / 1e3:,.0f} k "
                f"| {cycle / memory[0]:.2f}x | {message / memory[1]:.2f}x |"
            )
        self.sections.append("\n".join(lines))

    def hardening(self) -> None:
        """Fuzz, soak and chaos (issue 16): their tables, from this run."""
        import _hardening as H

        sizes = H.Sizes.make(self.args.quick)
        env, rabbit = child_env(), self.rabbit_version is not None
        log(f"8a. engine fuzz ({sizes.fuzz_runs:,} inputs)")
        fuzz = H.fuzz(sizes, env)
        log(f"8b. soak, {sizes.soak_connections} x 5 channels, {sizes.soak_seconds:g} s")
        wide = H.soak(sizes, env, connections=sizes.soak_connections, rate=1,
                      seconds=sizes.soak_seconds, rabbit=rabbit)  # fmt: skip
        log(f"8c. soak, 20 connections x 5 channels at 400 msg/s, {sizes.latency_seconds:g} s")
        narrow = H.soak(sizes, env, connections=20, rate=4, seconds=sizes.latency_seconds,
                        rabbit=rabbit)  # fmt: skip
        log(f"8d. byte-cut chaos ({sizes.chaos_trials} trials per backend)")
        chaos = H.chaos(sizes, env)
        self.targets += [
            Target("fuzz", f"engine fuzz: 0 crashes, 0 hangs in {sizes.fuzz_runs:,} inputs",
                   fuzz.measured, fuzz.met),
            Target("soak", f"soak, {sizes.soak_connections} x 5 channels: 0 lost, 0 unexpected",
                   wide.measured, wide.met),
            Target("soak-20", "soak, 20 x 5 channels: 0 lost, 0 unexpected",
                   narrow.measured, narrow.met),
            Target("chaos", "byte cuts: fakebroker recovers at least as often as RabbitMQ",
                   chaos.measured, chaos.met),
        ]  # fmt: skip
        self.sections.append(H.section(sizes, fuzz, wide, narrow, chaos))

    # profiles ---------------------------------------------------------------

    def _should_profile(self, prefix: str) -> bool:
        if self.args.no_profile:
            return False
        return any(t.key.startswith(prefix) and t.met is False for t in self.targets)

    def profile_kombu(self, workload: str, extra: list[str]) -> None:
        """cProfile the in-process run of a kombu workload."""
        log(f"   profiling {workload} on fakebroker://")
        path = self.tmp / f"{workload}.prof"
        result = run_json(
            [str(BENCH / "bench_kombu.py"), workload, "--url", INPROC, *extra,
             "--profile", str(path)]
        )  # fmt: skip
        self._add_cprofile(f"kombu {workload}, fakebroker:// ({' '.join(extra)})", path, result)

    def profile_server(self, workload: str, extra: list[str]) -> None:
        """cProfile the fakebroker serve process during a kombu workload."""
        log(f"   profiling the fakebroker serve process during {workload}")
        path = self.tmp / f"server-{workload}.prof"
        command = [str(Path(__file__).resolve()), "_serve_profiled", str(path)]
        with fakebroker_server(command) as url:
            result = run_json([str(BENCH / "bench_kombu.py"), *extra, "--url", url])
        for _ in range(100):  # the server writes its stats as it exits
            if path.exists():
                break
            time.sleep(0.1)
        self._add_cprofile(f"the fakebroker serve process, kombu {workload}", path, result)

    def profile_celery(self) -> None:
        """Sample all threads during Celery round trips through fakebroker://."""
        log("   profiling Celery round trips on fakebroker://")
        path = self.tmp / "celery.json"
        result = run_json(
            [str(BENCH / "bench_celery.py"), "--broker", INPROC, "--n", "400",
             "--profile", str(path)]
        )  # fmt: skip
        if not path.exists():
            self.profiles.append(f"### Celery, fakebroker://\n\nno profile: {result}")
            return
        data = json.loads(path.read_text())
        parts = [
            "### Celery round trips, fakebroker:// (400 round trips, all threads sampled "
            f"every {data['interval_s'] * 1e3:.0f} ms, wall clock)",
            "",
            f"Run under the sampler: {fmt(result.get('roundtrips_per_s'))} round trips/s.",
        ]
        for thread, info in data["threads"].items():
            total = info["samples"]
            if total < 20:
                continue
            parts += ["", f"Thread `{thread}` ({total} samples), inclusive (% of samples):", ""]
            parts.append("```")
            parts += [f"{100 * n / total:5.1f}%  {where}" for where, n in info["inclusive"][:18]]
            parts += ["```", "", "top of stack:", "", "```"]
            parts += [f"{100 * n / total:5.1f}%  {where}" for where, n in info["leaf"][:8]]
            parts.append("```")
        self.profiles.append("\n".join(parts))

    def _add_cprofile(self, title: str, path: Path, result: dict[str, Any]) -> None:
        if not path.exists():
            self.profiles.append(f"### {title}\n\nno profile: {result.get('error', result)}")
            return
        stats = pstats.Stats(str(path))
        shares = package_shares(stats)
        text = io.StringIO()
        stats.stream = text  # type: ignore[attr-defined]
        stats.sort_stats("tottime").print_stats(18)
        tottime = _trim(text.getvalue())
        text = io.StringIO()
        stats.stream = text  # type: ignore[attr-defined]
        stats.sort_stats("cumulative").print_stats(22)
        cumulative = _trim(text.getvalue())
        figures = ", ".join(
            f"{k} {fmt(v)}" for k, v in result.items() if k.endswith(("_per_s", "_ms"))
        )
        self.profiles.append(
            f"### {title}\n\nUnder cProfile: {figures}.\n\n"
            "Own time by package: "
            + ", ".join(f"{name} {share:.0%}" for name, share in shares)
            + f"\n\nBy own time:\n\n```\n{tottime}\n```\n\nBy cumulative time:\n\n"
            f"```\n{cumulative}\n```"
        )

    # report -----------------------------------------------------------------

    def write(self, output: Path) -> None:
        elapsed = time.perf_counter() - self.t0
        load_after = os.getloadavg()
        stolen = steal_share(self.cpu_before, cpu_times())
        lines = [
            "# Benchmark results",
            "",
            f"Written by `python bench/run.py{' --quick' if self.args.quick else ''}"
            f"{' --skip-rabbitmq' if self.args.skip_rabbitmq else ''}` on "
            f"{self.started:%Y-%m-%d %H:%M %Z} in {elapsed / 60:.1f} min. "
            "Every figure comes from this one run; regenerate rather than edit.",
            "",
            "## Machine and versions",
            "",
            *[f"- {line}" for line in machine(self.rabbit_version)],
            f"- load average (1 min) {self.load_before[0]:.2f} at the start, "
            f"{load_after[0]:.2f} at the end; the 2 cores are shared with other engineers, "
            "so figures move by 15-30% between runs: only ratios well beyond the spreads "
            "shown mean anything.",
            f"- CPU time stolen by the host during the run (/proc/stat steal): {stolen}; "
            "a share of several per cent slows every backend alike, so the ratios hold "
            "while the absolute figures (and the targets set in them) drop.",
            "",
            "## Targets",
            "",
            "| target | measured (medians) | verdict |",
            "|---|---|---|",
            *[f"| {t.text} | {t.measured} | {t.verdict} |" for t in self.targets],
            "",
            *[section + "\n" for section in self.sections],
        ]
        analysis = BENCH / "ANALYSIS.md"
        if any(t.met is False for t in self.targets) and analysis.exists():
            lines += [
                "## Why the missed targets are missed",
                "",
                "Written by hand from the profiles (bench/ANALYSIS.md, included here); "
                "the profiles below are from this run.",
                "",
                analysis.read_text().split("\n", 1)[1].strip(),
                "",
            ]
        if self.profiles:
            lines += ["## Profiles of the missed targets (this run)", ""]
            lines += [p + "\n" for p in self.profiles]
        output.write_text("\n".join(lines).rstrip() + "\n")
        log(f"wrote {output}")


def instructions_of(
    kombu: list[str], url: str, cycles: tuple[int, int], messages: tuple[int, int]
) -> tuple[float, float]:
    """(instructions per cycle, per message) of bench_kombu.py against ``url``."""
    import _callgrind

    cycle = _callgrind.marginal(
        lambda k: [*kombu, "cycle", "--url", url, "--iters", str(k)],
        *cycles, cwd=ROOT, env=child_env(),
    )  # fmt: skip
    message = _callgrind.marginal(
        lambda k: [*kombu, "throughput", "--url", url, "--n", str(k)],
        *messages, cwd=ROOT, env=child_env(),
    )  # fmt: skip
    return cycle, message


def _median(series: Series | None, key: str) -> float | None:
    return None if series is None else series.median(key)


def _trim(text: str) -> str:
    """pstats output without blank lines and with short paths."""
    out = []
    for line in text.splitlines():
        if line.strip():
            line = re.sub(r"/\S*?site-packages/", "", line).replace(f"{ROOT}/", "")
            out.append(line.rstrip())
    return "\n".join(out)


def package_shares(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Share of own (tottime) time per top-level package."""
    totals: dict[str, float] = {}
    for (filename, _line, func), entry in stats.stats.items():  # type: ignore[attr-defined]
        tottime = entry[2]
        if "/fakebroker/" in filename:
            name = "fakebroker/" + filename.split("/fakebroker/", 1)[1].split("/")[0]
            name = name.removesuffix(".py")
        elif "site-packages/" in filename:
            name = filename.split("site-packages/", 1)[1].split("/")[0].removesuffix(".py")
        elif filename == "~":
            name = "builtins (" + ("locks/waits" if "acquire" in func or "wait" in func else "C")
            name += ")"
        else:
            name = "stdlib/other"
        totals[name] = totals.get(name, 0.0) + tottime
    whole = sum(totals.values()) or 1.0
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    return [(name, value / whole) for name, value in ranked if value / whole >= 0.02]


def cpu_times() -> list[int] | None:
    """The machine's CPU jiffies from /proc/stat (None where there is none)."""
    try:
        with open("/proc/stat") as stat:
            return [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None


def steal_share(before: list[int] | None, after: list[int] | None) -> str:
    """The steal share of all CPU time between two readings, as text."""
    if before is None or after is None or len(before) < 8 or len(after) < 8:
        return "unknown"
    total = sum(after) - sum(before)
    if total <= 0:
        return "unknown"
    return f"{100 * (after[7] - before[7]) / total:.1f}%"


def machine(rabbit_version: str | None) -> list[str]:
    """Lines describing the machine and the software."""
    cpu = "?"
    with _suppress():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with _suppress():
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 2**20:.1f} GiB"
    versions = []
    for package in ("kombu", "amqp", "celery", "pamqp"):
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    commit = "?"
    with _suppress():
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
    return [
        f"{platform.node()}: {os.cpu_count()} CPU ({cpu}), {memory}, {platform.platform()}",
        f"Python {platform.python_version()} ({platform.python_implementation()}); "
        + ", ".join(versions),
        f"fakebroker at commit {commit} (this checkout, bench/ included as on disk)",
        f"RabbitMQ {rabbit_version} at 127.0.0.1:5672 (kombu pyamqp transport)"
        if rabbit_version
        else "RabbitMQ: skipped (unreachable or --skip-rabbitmq)",
    ]


@contextmanager
def _suppress() -> Iterator[None]:
    with suppress(Exception):
        yield


def serve_profiled(path: str) -> int:
    """``fakebroker serve --port 0`` under cProfile; the stats go to ``path`` on SIGTERM."""
    from fakebroker.cli import main

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        status = main(["serve", "--port", "0"])
    finally:
        profiler.disable()
        profiler.dump_stats(path)
    return status


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "_serve_profiled":
        return serve_profiled(sys.argv[2])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    parser.add_argument("--skip-rabbitmq", action="store_true", help="do not use RabbitMQ")
    parser.add_argument("--repeats", type=int, help="runs per backend (default 5, quick 1)")
    parser.add_argument("--no-profile", action="store_true", help="do not profile misses")
    parser.add_argument(
        "--only",
        default="core,throughput,cycle,celery,taskpost,startup,instructions,hardening",
        help="comma-separated workloads to run (default: all)",
    )
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    run = Run(args)
    if not args.skip_rabbitmq and run.rabbit_version is None:
        log("RabbitMQ at 127.0.0.1:5672 is unreachable: skipping it")
    wanted = args.only.split(",")
    workloads = ("core", "throughput", "cycle", "celery", "taskpost", "startup", "instructions",
                 "hardening")  # fmt: skip
    for name in workloads:
        if name in wanted:
            getattr(run, name)()
    run.write(args.output)
    print(args.output.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
