"""Section 8 of bench/RESULTS.md: the hardening runs (issue 16), each in its own subprocess.

- the engine fuzz (bench/fuzz_engine.py --plain): inputs, crashes, hangs, RSS;
- the soak (bench/soak.py): lost / unexpected messages, confirm latency, server RSS,
  at 200 connections (the issue's run) and at 20 connections (latency);
- the byte-cut chaos (bench/chaos_bytes.py): trials recovered per backend.

Each script keeps its own history file (bench/RESULTS-fuzz.md, -soak.md, -chaos.md);
here each writes to a scratch file and its printed table goes into RESULTS.md, so the
figures there come from the same run as the rest.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TIMEOUT = 1800.0


@dataclass(frozen=True)
class Sizes:
    """How much of each run: the issue's sizes, or a quick look."""

    fuzz_runs: int
    soak_seconds: float
    soak_connections: int
    latency_seconds: float
    chaos_trials: int

    @classmethod
    def make(cls, quick: bool) -> Sizes:
        if quick:
            return cls(20_000, 10.0, 20, 10.0, 2)
        return cls(1_000_000, 60.0, 200, 30.0, 10)


@dataclass
class Outcome:
    """One script's run: its table (markdown), whether it met its bar, and a summary."""

    table: str
    met: bool | None
    measured: str
    seconds: float


def _run(args: list[str], env: dict[str, str]) -> tuple[int, str, float]:
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT,
            timeout=TIMEOUT,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {TIMEOUT:.0f} s", time.perf_counter() - started
    text = proc.stdout if proc.returncode in (0, 1) else proc.stdout + proc.stderr[-2000:]
    return proc.returncode, text, time.perf_counter() - started


def fuzz(sizes: Sizes, env: dict[str, str]) -> Outcome:
    """1,000,000 raw inputs to fresh engines; 0 crashes and 0 hangs is the bar."""
    code, out, took = _run(
        [str(BENCH / "fuzz_engine.py"), "--plain", "--runs", str(sizes.fuzz_runs), "--seed", "1"],
        env,
    )
    found = {
        "inputs": re.search(r"inputs: (\d+) .* \((\d+)/s\)", out),
        "crashes": re.search(
            r"crashes: (\d+); hangs \(> [\d.]+ s\): (\d+); slowest ([\d.]+) s", out
        ),
        "rss": re.search(r"RSS before: (\d+) KiB, after: (\d+) KiB", out),
    }
    if not all(found.values()):
        return Outcome(f"```\n{out.strip()[-3000:]}\n```", False, f"no summary (exit {code})", took)
    inputs, rate = (int(g) for g in found["inputs"].groups())  # type: ignore[union-attr]
    crashes, hangs = (int(g) for g in found["crashes"].groups()[:2])  # type: ignore[union-attr]
    slowest = float(found["crashes"].group(3))  # type: ignore[union-attr]
    before, after = (int(g) for g in found["rss"].groups())  # type: ignore[union-attr]
    table = (
        "| inputs | crashes | hangs (> 1 s) | slowest input | rate | RSS before → after |\n"
        "|---|---|---|---|---|---|\n"
        f"| {inputs:,} | {crashes} | {hangs} | {slowest:.3f} s | {rate:,}/s ({took:.0f} s) "
        f"| {before:,} KiB → {after:,} KiB |"
    )
    measured = (
        f"{inputs:,} inputs: {crashes} crashes, {hangs} hangs, RSS {before:,} → {after:,} KiB"
    )
    return Outcome(table, crashes == 0 and hangs == 0, measured, took)


def _table_rows(out: str) -> list[dict[str, str]]:
    """The rows of the markdown table in ``out``, keyed by its header's names."""
    lines = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    if not lines:
        return []
    header, *rows = ([c.strip() for c in line.strip("|").split("|")] for line in lines)
    return [dict(zip(header, row, strict=False)) for row in rows]


def soak(sizes: Sizes, env: dict[str, str], *, connections: int, rate: float, seconds: float,
         rabbit: bool) -> Outcome:  # fmt: skip
    """Connections x 5 channels with confirms; 0 lost and 0 unexpected on fakebroker is the bar."""
    args = [str(BENCH / "soak.py"), "--connections", str(connections), "--channels", "5",
            "--rate", f"{rate:g}", "--seconds", f"{seconds:g}",
            "--output", str(Path("/tmp") / f"fakebroker-soak-{connections}.md")]  # fmt: skip
    if not rabbit:
        args.append("--skip-rabbitmq")
    code, out, took = _run(args, env)
    table = "\n".join(line for line in out.splitlines() if line.startswith("|"))
    rows = _table_rows(out)
    if not rows:
        return Outcome(f"```\n{out.strip()[-3000:]}\n```", False, f"no table (exit {code})", took)
    fake = rows[0]
    ok = fake.get("lost") == "0" and fake.get("unexpected") == "0"
    measured = (
        f"fakebroker: {fake.get('delivered')} delivered, {fake.get('lost')} lost, "
        f"{fake.get('unexpected')} unexpected, p50 {fake.get('p50 ms')} ms"
    )
    if len(rows) > 1:
        measured += f" (RabbitMQ p50 {rows[1].get('p50 ms')} ms)"
    return Outcome(table, ok, measured, took)


def chaos(sizes: Sizes, env: dict[str, str]) -> Outcome:
    """Byte cuts (a proxy; fakebroker's own rules too): it recovers at least as often as
    RabbitMQ is the bar, both ways."""
    code, out, took = _run(
        [str(BENCH / "chaos_bytes.py"), "--trials", str(sizes.chaos_trials), "--cuts", "rules",
         "--output", "/tmp/fakebroker-chaos.md"],
        env,
    )  # fmt: skip
    table = "\n".join(line for line in out.splitlines() if line.startswith("|"))
    rows = _table_rows(out)
    if not rows:
        return Outcome(f"```\n{out.strip()[-3000:]}\n```", False, f"no table (exit {code})", took)
    recovered = {row["backend"]: row["recovered"] for row in rows}
    count = {k: int(v.split("/")[0]) for k, v in recovered.items()}
    fake = min((v for k, v in count.items() if k.startswith("fakebroker")), default=0)
    real = max((v for k, v in count.items() if k.startswith("RabbitMQ")), default=0)
    measured = ", ".join(f"{k} {v}" for k, v in recovered.items())
    return Outcome(table, fake >= real, measured, took)


def section(sizes: Sizes, fuzz: Outcome, wide: Outcome, narrow: Outcome, chaos: Outcome) -> str:
    """Section 8 of RESULTS.md."""
    lines = [
        "## 8. Hardening: fuzz, soak, chaos (`bench/_hardening.py`)",
        "",
        "### Engine fuzz (`bench/fuzz_engine.py --plain --seed 1`)",
        "",
        "Raw inputs to a fresh engine and broker each (half random bytes, half valid frames "
        "mutated), the clock run 60 s forward after each; a crash is an exception out of the "
        "engine or an internal error it answered with 541; a hang an input over 1 s. The "
        "atheris run (outside this script) is in bench/RESULTS-fuzz.md.",
        "",
        fuzz.table,
        "",
        f"### Soak, {sizes.soak_connections} connections (`bench/soak.py`)",
        "",
        f"{sizes.soak_connections} aio-pika connections x 5 channels, each channel in confirm "
        "mode publishing 1 msg/s of 256 B to its own queue and consuming it (acks), "
        f"{sizes.soak_seconds:g} s per server, one client process for both "
        f"({wide.seconds:.0f} s in all).",
        "",
        wide.table,
        "",
        "### Soak, 20 connections at 400 msg/s (`bench/soak.py --connections 20 --rate 4`)",
        "",
        f"The issue's latency comparison: 20 x 5 channels x 4 msg/s, "
        f"{sizes.latency_seconds:g} s per server.",
        "",
        narrow.table,
        "",
        "### Byte-cut chaos (`bench/chaos_bytes.py`)",
        "",
        "aio-pika's robust connection consumes 100 x 12 kB through a proxy cutting the k-th "
        "connection after 64 x 2^(k//2) bytes, upstream and downstream in turn, the "
        "handshake included; and, without the proxy, fakebroker cutting the same counts "
        "with its own fault rules (drop_connection(after_bytes_received / after_bytes_sent)).",
        "",
        chaos.table,
    ]
    return "\n".join(lines)
