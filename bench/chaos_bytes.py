#!/usr/bin/env python3
"""Byte-level chaos, repeated: tests/chaos/test_byte_cuts.py's run, N times per backend.

    python bench/chaos_bytes.py [--trials 10] [--cuts proxy|rules] [--output bench/RESULTS-chaos.md]

Each trial: 100 x 12 kB messages consumed by aio-pika's robust connection
through a proxy that cuts the k-th connection after 64 x 2^(k//2) bytes,
upstream and downstream in turn (the handshake included), up to 64 KiB.
``--cuts rules`` adds a row for fakebroker cut by its own fault rules instead
of the proxy (tests/chaos/test_rule_cuts.py: the k-th connection gets a
``drop_connection(after_bytes_received=N / after_bytes_sent=N)`` rule, the
same doubling counts, received then sent). Reported per backend: trials
recovered (every message consumed), cuts, connection attempts, deliveries
(redeliveries included), seconds (median).
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import fakebroker  # noqa: E402
from tests.chaos.test_byte_cuts import RABBITMQ, Outcome, _rabbitmq_up, _run  # noqa: E402
from tests.chaos.test_rule_cuts import Outcome as RuleOutcome  # noqa: E402
from tests.chaos.test_rule_cuts import run_rule_cuts  # noqa: E402


def _trials(address: tuple[str, int], count: int) -> list[Outcome]:
    return [_run(address) for _ in range(count)]


def _line(name: str, outcomes: list[Outcome] | list[RuleOutcome]) -> str:
    def med(values: list[float]) -> float:
        return statistics.median(values) if values else 0.0

    recovered = sum(o.recovered for o in outcomes)
    return (
        f"| {name} | {recovered}/{len(outcomes)} | {med([o.cuts for o in outcomes]):.0f} "
        f"| {med([o.connect_attempts for o in outcomes]):.0f} "
        f"| {med([o.deliveries for o in outcomes]):.0f} "
        f"| {med([o.seconds for o in outcomes]):.2f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument(
        "--cuts",
        choices=("proxy", "rules"),
        default="proxy",
        help="rules: also fakebroker cut by its own fault rules (no proxy)",
    )
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS-chaos.md"))
    args = parser.parse_args()
    with fakebroker.serve(port=0) as server:
        lines = [_line("fakebroker serve", _trials(("127.0.0.1", server.port), args.trials))]
    if args.cuts == "rules":
        rules = [run_rule_cuts() for _ in range(args.trials)]
        lines.append(_line("fakebroker serve, cut by its fault rules", rules))
    if _rabbitmq_up():
        lines.append(_line("RabbitMQ 3.10.8", _trials(RABBITMQ, args.trials)))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"## Byte cuts, {stamp}: {args.trials} trials per backend\n\n"
        "| backend | recovered | cuts (median) | connect attempts | deliveries | seconds |\n"
        + "|---" * 6
        + "|\n"
        + "\n".join(lines)
        + "\n\n"
    )
    print(text)
    path = Path(args.output)
    old = path.read_text() if path.exists() else "# Chaos results (bench/chaos_bytes.py)\n\n"
    path.write_text(old + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
