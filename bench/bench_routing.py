"""Micro-benchmark of the binding indexes: prints route() calls per second.

    PYTHONPATH=. python bench/bench_routing.py     (or with fakebroker installed)

Topic matchers hold 4 bindings per symbol ("stock.<sym>.<venue>") plus "#.<sym>"
for one symbol in 100; "uncached keys" routes keys never seen before, so it
times the trie walk itself, which must not grow with the number of bindings.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from fakebroker.core._routing import Matcher, matcher_for

VENUES = ["nyse", "lse", "tse", "xetra"]


def ops_per_second(call: Callable[[], Any], seconds: float = 0.5) -> float:
    """How many times call() runs per second (batches of 1000)."""
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(1000):
            call()
        done += 1000
    return done / elapsed


def make(kind: str) -> Matcher[Any]:
    """A fresh matcher of a known type."""
    matcher = matcher_for(kind)
    assert matcher is not None
    return matcher


def topic_matcher(n: int) -> tuple[Matcher[Any], int]:
    """n bindings, 4 per symbol as 'stock.<sym>.<venue>', plus '#.<sym>' for 1 symbol in 100."""
    matcher = make("topic")
    symbols = max(1, n // len(VENUES))
    for i in range(symbols):
        for venue in VENUES:
            matcher.add(f"q.{i}.{venue}", f"stock.s{i}.{venue}", {})
        if i % 100 == 0:
            matcher.add(f"all.{i}", f"#.s{i}", {})
    return matcher, symbols


def report(name: str, rate: float, matcher: Matcher[Any]) -> None:
    """One line of output."""
    micros = 1e6 / rate if rate else float("inf")
    print(f"{name:<44} {rate:>12,.0f} ops/s  ({micros:6.2f} us/op, {len(matcher):,} bindings)")


def bench_topic(n: int, rng: random.Random) -> None:
    """Cached hits, a rotating working set of 50,000 keys, and keys never seen before."""
    topic, symbols = topic_matcher(n)
    rate = ops_per_second(lambda: topic.route("stock.s0.lse", None))
    report(f"topic, {n:,} bindings, one key (cached)", rate, topic)
    keys = [f"stock.s{rng.randrange(symbols)}.{rng.choice(VENUES)}" for _ in range(50_000)]
    rotating = iter(keys * 1000)
    rate = ops_per_second(lambda: topic.route(next(rotating), None))
    report(f"topic, {n:,} bindings, 50,000 keys", rate, topic)
    cold = (f"stock.s{i % symbols}.v{i}" for i in range(10**9))
    rate = ops_per_second(lambda: topic.route(next(cold), None))
    report(f"topic, {n:,} bindings, uncached keys", rate, topic)


def main() -> None:
    """Run every benchmark."""
    direct = make("direct")
    for i in range(10_000):
        direct.add(f"q{i}", f"key.{i}", {})
    rate = ops_per_second(lambda: direct.route("key.5000", None))
    report("direct, 10,000 bindings", rate, direct)

    fanout = make("fanout")
    for i in range(10):
        fanout.add(f"q{i}", "", {})
    report("fanout, 10 bindings", ops_per_second(lambda: fanout.route("x", None)), fanout)

    rng = random.Random(7)
    for n in (10, 10_000):
        bench_topic(n, rng)

    headers = make("headers")
    for i in range(10):
        headers.add(f"q{i}", "", {"x-match": "all", "format": "pdf", "n": i})
    hdrs = {"format": "pdf", "n": 3, "other": "x"}
    report("headers, 10 bindings", ops_per_second(lambda: headers.route("", hdrs)), headers)


if __name__ == "__main__":
    main()
