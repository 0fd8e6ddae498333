"""A small sampling profiler of every thread of this process (wall clock).

cProfile sees one thread; a Celery round trip spends its time in two (the
client and the worker) and much of it waiting, so this samples
``sys._current_frames()`` every few milliseconds instead and counts, per
thread, the functions on the stack (inclusive) and at its top (leaf).
"""

from __future__ import annotations

import collections
import json
import sys
import threading
import time
from types import FrameType


def _where(frame: FrameType) -> str:
    code = frame.f_code
    path = code.co_filename
    for marker in ("site-packages/", "/work/main/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{code.co_firstlineno}({code.co_name})"


class Sampler:
    """Samples the stacks of all other threads every ``interval`` seconds."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.samples: collections.Counter[str] = collections.Counter()
        self.inclusive: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter
        )
        self.leaf: dict[str, collections.Counter[str]] = collections.defaultdict(
            collections.Counter
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():  # noqa: SLF001 - the stdlib's API
                if ident == me:
                    continue
                name = names.get(ident, str(ident))
                self.samples[name] += 1
                self.leaf[name][_where(frame)] += 1
                seen: set[str] = set()
                current: FrameType | None = frame
                while current is not None:
                    seen.add(_where(current))
                    current = current.f_back
                self.inclusive[name].update(seen)

    def dump(self, path: str, top: int = 25) -> None:
        """Write the per-thread tops as JSON."""
        out = {
            name: {
                "samples": count,
                "inclusive": self.inclusive[name].most_common(top),
                "leaf": self.leaf[name].most_common(top),
            }
            for name, count in self.samples.most_common()
        }
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"interval_s": self.interval, "threads": out, "at": time.time()}, handle)
