"""The ``fakebroker`` command.

    fakebroker serve [--host 127.0.0.1] [--port 5672] [--vhost NAME]... \
                     [--user NAME:PASSWORD]... [--definitions FILE]

``serve`` prints the URL it serves (one line) as soon as it accepts
connections and runs until SIGINT or SIGTERM, when every client gets
``connection.close`` 320 CONNECTION_FORCED and the command exits 0.  A port
already in use is reported on one line and the exit status is 2.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._node import Node

__all__ = ["main"]

EXIT_USAGE = 2


def _user(value: str) -> tuple[str, str]:
    name, sep, password = value.partition(":")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME:PASSWORD, got {value!r}")
    return name, password


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fakebroker", description="A RabbitMQ-faithful AMQP 0-9-1 broker emulator."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a broker over TCP until SIGINT/SIGTERM")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=5672, help="TCP port (0 picks a free one)")
    serve.add_argument(
        "--vhost", action="append", default=[], metavar="NAME", help="a vhost ('/' always exists)"
    )
    serve.add_argument(
        "--user",
        action="append",
        type=_user,
        default=[],
        metavar="NAME:PASSWORD",
        help="a user with every permission (default guest:guest)",
    )
    serve.add_argument(
        "--definitions", metavar="FILE", help="RabbitMQ definitions JSON to load at start"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (also used by ``python -m fakebroker``)."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve_command(args)
    return EXIT_USAGE  # pragma: no cover - argparse rejects unknown commands


def _serve_command(args: argparse.Namespace) -> int:
    from ._definitions import DefinitionsError
    from ._factory import build_node

    users: list[tuple[str, str]] = args.user or [("guest", "guest")]
    try:
        node = build_node(vhosts=args.vhost, users=users, definitions=args.definitions)
    except (OSError, DefinitionsError) as exc:
        print(f"fakebroker: {exc}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    try:
        return asyncio.run(_serve(node, args.host, args.port, users[0]))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 0


async def _serve(node: Node, host: str, port: int, user: tuple[str, str]) -> int:
    from ._urls import amqp_url
    from .fronts import AMQPServer

    server = AMQPServer(node=node, host=host, port=port)
    try:
        await server.start()
    except OSError as exc:
        print(_listen_error(host, port, exc), file=sys.stderr, flush=True)
        return EXIT_USAGE
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(amqp_url(host=host, port=server.port, user=user[0], password=user[1]), flush=True)
    await stop.wait()
    await server.close()
    return 0


def _listen_error(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"fakebroker: port {port} on {host} is already in use; "
            "choose another with --port (--port 0 picks a free one)"
        )
    return f"fakebroker: cannot listen on {host}:{port} (--port {port}): {exc.strerror or exc}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
