"""Instruction counts of in-process workloads under valgrind's callgrind.

Timings on this machine's two shared cores move by 15-30% between runs;
instruction counts do not (the same total twice, whatever the other core is
doing). For a backend whose client and broker live in one process
(``memory://``, ``fakebroker://``) the count is the whole cost of the work.

A workload is run twice, with a small and a large size; the difference
divided by the difference in units is the marginal count per unit, free of
the interpreter's start-up and imports.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["available", "instructions", "marginal"]

_COLLECTED = re.compile(r"Collected : (\d+)")


def available() -> bool:
    """Whether valgrind is on the PATH."""
    return shutil.which("valgrind") is not None


def instructions(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> int:
    """Instructions executed by ``python ARGS`` (the real interpreter, not a shim)."""
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={os.devnull}",
        _interpreter(),
        *args,
    ]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env
    )
    found = _COLLECTED.search(proc.stderr)
    if proc.returncode != 0 or found is None:
        tail = proc.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"callgrind run failed (exit {proc.returncode}): {tail[0][:200]}")
    return int(found.group(1))


def _interpreter() -> str:
    """``sys.executable`` if it is a binary (a venv's symlink keeps the venv), else its target.

    A venv's ``python`` is a symlink whose own path tells the interpreter to
    use the venv's site-packages: resolving it would lose them.  A pyenv shim
    is a shell script valgrind cannot trace into the interpreter: resolve it.
    """
    with open(os.path.realpath(sys.executable), "rb") as binary:
        is_elf = binary.read(4) == b"\x7fELF"
    return sys.executable if is_elf else os.path.realpath(sys.executable)


def marginal(
    make_args: Callable[[int], list[str]],
    small: int,
    large: int,
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float = 900.0,
) -> float:
    """Instructions per unit between a run of ``small`` and one of ``large`` units."""
    low = instructions(make_args(small), cwd=cwd, env=env, timeout=timeout)
    high = instructions(make_args(large), cwd=cwd, env=env, timeout=timeout)
    return (high - low) / (large - small)
