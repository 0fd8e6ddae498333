"""The ``taskpost`` command: ``taskpost worker -A pkg.module:app -Q q1,q2 -c 4``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from ._app import App
from ._config import load_object
from ._worker import Worker

__all__ = ["main"]

logger = logging.getLogger("taskpost.worker")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="taskpost", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="consume task queues and run the tasks")
    worker.add_argument("-A", "--app", required=True, help="pkg.module:app (default name: app)")
    worker.add_argument("-Q", "--queues", default="", help="comma-separated queue names")
    worker.add_argument("-c", "--concurrency", type=int, default=1, help="task threads")
    worker.add_argument("--prefetch", type=int, default=None, help="unacked messages (4 x -c)")
    worker.add_argument("-n", "--hostname", default=None, help="worker name")
    worker.add_argument("-l", "--loglevel", default="INFO", help="logging level")
    worker.add_argument(
        "--shutdown-timeout", type=float, default=30.0, help="seconds a warm stop waits"
    )
    return parser


def load_app(spec: str) -> App:
    """The :class:`App` named by ``pkg.module:attribute`` (``:app`` by default).

    The current directory is searched first, as Celery's ``-A`` does, so
    ``taskpost worker -A myshop:app`` finds ``./myshop.py``.
    """
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    obj = load_object(spec if ":" in spec else f"{spec}:app")
    if not isinstance(obj, App):
        raise SystemExit(f"taskpost: {spec!r} is not a taskpost.App (got {type(obj).__name__})")
    return obj


def _install_signals(worker: Worker) -> None:
    stops = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stops
        stops += 1
        graceful = stops == 1
        logger.warning(
            "Received %s: %s shutdown",
            signal.Signals(signum).name,
            "warm" if graceful else "cold",
        )
        worker.request_stop(graceful=graceful)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def run_worker(args: argparse.Namespace) -> int:
    """Run a worker until SIGTERM (warm stop) or a second signal (cold stop)."""
    logging.basicConfig(
        level=args.loglevel.upper(),
        format="[%(asctime)s: %(levelname)s/%(threadName)s] %(message)s",
    )
    app = load_app(args.app)
    worker = app.Worker(
        queues=[q for q in args.queues.split(",") if q] or None,
        concurrency=args.concurrency,
        prefetch=args.prefetch,
        hostname=args.hostname,
        shutdown_timeout=args.shutdown_timeout,
    )
    _install_signals(worker)
    logger.info("%r ready: %d threads, prefetch %d", worker, worker.concurrency, worker.prefetch)
    try:
        worker.run()
    finally:
        app.close()
    logger.info("Worker %s stopped", worker.hostname)
    if worker.abandoned:
        # Abandoned task threads cannot be killed: leave without joining them.
        logging.shutdown()
        os._exit(1)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``taskpost`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "worker":
        return run_worker(args)
    return 2  # pragma: no cover - argparse refuses unknown commands


if __name__ == "__main__":
    sys.exit(main())
