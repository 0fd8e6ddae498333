"""The ``fakebroker`` command.

    fakebroker serve [--host 127.0.0.1] [--port 5672] [--vhost NAME]... \\
                     [--user NAME:PASSWORD]... [--definitions FILE] \\
                     [--http-port PORT] [--redis-port PORT] \\
                     [--log-level info] [--log-file FILE]

``serve`` prints the URL it serves (one line on stdout) as soon as it
accepts connections and runs until SIGINT or SIGTERM, when every client
gets ``connection.close`` 320 CONNECTION_FORCED and the command exits 0.
Bad arguments, a port already in use and unreadable definitions are
reported on one line and the exit status is 2.  The log (RabbitMQ's lines:
connections accepted and closed, logins, channel and connection errors)
goes to stderr, or to ``--log-file``.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal
import ssl
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._version import __version__

if TYPE_CHECKING:
    from ._node import Node
    from .fronts import AMQPServer

__all__ = ["main"]

EXIT_USAGE = 2
LEVELS = ("debug", "info", "warning", "error")
SERVE_HELP = """\
Serve a broker over AMQP 0-9-1 until SIGINT/SIGTERM.

What a client can use, as a RabbitMQ node that imports definitions at boot:
the definitions file is imported first (its vhosts, users, exchanges,
queues and bindings), then every --vhost and --user is added; a --user
named in the definitions gets the password given here. guest/guest exists
only when no user is named at all. The URL printed names the first --user
(else guest, else the first user whose password is known) and the first
--vhost (else "/").
"""


def _user(value: str) -> tuple[str, str]:
    name, sep, password = value.partition(":")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME:PASSWORD, got {value!r}")
    return name, password


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535 (0 picks a free one), not {port}")
    return port


def _names(value: str) -> tuple[str, ...]:
    return tuple(name for name in (part.strip() for part in value.split(",")) if name)


def _size(value: str) -> int:
    try:
        size = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if size < 0:
        raise argparse.ArgumentTypeError(f"cannot be negative: {size}")
    return size


_UNITS = {
    "": 1,
    "k": 1024,
    "kib": 1024,
    "kb": 1000,
    "m": 1024**2,
    "mib": 1024**2,
    "mb": 1000**2,
    "g": 1024**3,
    "gib": 1024**3,
    "gb": 1000**3,
}


def _physical_memory() -> int:
    import os

    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _watermark(value: str) -> int:
    """RabbitMQ's relative (a fraction of RAM) or absolute (bytes, information units) forms."""
    text = value.strip()
    if "." in text:
        try:
            fraction = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a fraction of RAM: {value!r}") from None
        if not 0 < fraction <= 1:
            raise argparse.ArgumentTypeError(f"a fraction of RAM is in (0, 1], not {fraction}")
        return max(1, int(_physical_memory() * fraction))
    digits = text.rstrip("kKmMgGiIbB")
    unit = _UNITS.get(text[len(digits) :].lower())
    if not digits.isdigit() or unit is None:
        raise argparse.ArgumentTypeError(
            f"not an amount of memory: {value!r} (bytes, or with kB/MB/GB or KiB/MiB/GiB)"
        )
    if int(digits) == 0:
        raise argparse.ArgumentTypeError("the watermark must be above 0")
    return int(digits) * unit


def _vhost(value: str) -> str:
    if not value:
        raise argparse.ArgumentTypeError("a vhost name cannot be empty")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fakebroker", description="A RabbitMQ-faithful AMQP 0-9-1 broker emulator."
    )
    parser.add_argument("--version", action="version", version=f"fakebroker {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve a broker over TCP until SIGINT/SIGTERM",
        description=SERVE_HELP,
        formatter_class=_Formatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument(
        "--port",
        type=_port,
        default=5672,
        help="TCP port (0 picks a free one; 5672 is taken where a RabbitMQ runs)",
    )
    serve.add_argument(
        "--vhost",
        action="append",
        type=_vhost,
        default=[],
        metavar="NAME",
        help="a vhost to add ('/' always exists)",
    )
    serve.add_argument(
        "--user",
        action="append",
        type=_user,
        default=[],
        metavar="NAME:PASSWORD",
        help="a user to add, with every permission (none given: guest:guest, see above)",
    )
    serve.add_argument(
        "--definitions", metavar="FILE", help="RabbitMQ definitions JSON to import at start"
    )
    tls = serve.add_argument_group("TLS (amqps://), with RabbitMQ's ssl_options meanings")
    tls.add_argument("--tls-port", type=_port, metavar="PORT", help="also serve amqps:// here")
    tls.add_argument("--tls-cert", metavar="FILE", help="the server's certificate (PEM chain)")
    tls.add_argument("--tls-key", metavar="FILE", help="its private key (PEM)")
    tls.add_argument("--tls-ca", metavar="FILE", help="CAs that client certificates chain to")
    tls.add_argument("--tls-verify-peer", action="store_true", help="ask clients for a certificate")
    tls.add_argument(
        "--tls-fail-if-no-peer-cert",
        action="store_true",
        help="with --tls-verify-peer: refuse clients without one",
    )
    serve.add_argument(
        "--http-port",
        type=_port,
        metavar="PORT",
        help="also serve the management HTTP API and the dashboard here (0 picks a free one)",
    )
    serve.add_argument(
        "--redis-port",
        type=_port,
        metavar="PORT",
        help="also serve Redis (RESP, for kombu's redis:// and Celery) here; 0 picks a free one",
    )
    serve.add_argument(
        "--loopback-users",
        type=_names,
        default=("guest",),
        metavar="NAMES",
        help="users who may log in only from loopback, comma-separated ('' for none), as "
        "RabbitMQ's loopback_users",
    )
    limits = serve.add_argument_group("limits (docs/security.md)")
    limits.add_argument(
        "--max-message-size",
        type=_size,
        default=134_217_728,
        metavar="BYTES",
        help="refuse larger bodies with 406, as RabbitMQ's max_message_size (at most 512 MiB)",
    )
    limits.add_argument(
        "--memory-high-watermark",
        type=_watermark,
        metavar="FRACTION|BYTES",
        help="raise the memory alarm (publishers blocked) when the message bodies held reach "
        "this: a fraction of RAM (0.4) or an amount (512MiB, 2GB), as RabbitMQ's "
        "vm_memory_high_watermark.relative/.absolute (default: off)",
    )
    limits.add_argument(
        "--journal-size",
        type=_size,
        default=100_000,
        metavar="ENTRIES",
        help="events the journal keeps for inspection (0 switches it off)",
    )
    limits.add_argument(
        "--journal-bytes",
        type=_size,
        default=64 * 1024 * 1024,
        metavar="BYTES",
        help="message bodies the journal alone may keep alive",
    )
    serve.add_argument("--log-level", choices=LEVELS, default="info", help="what to log")
    serve.add_argument("--log-file", metavar="FILE", help="log here instead of stderr")
    return parser


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Defaults shown (those that say something), the description's paragraphs kept."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default not in (None, [], argparse.SUPPRESS) and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (also used by ``python -m fakebroker``)."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve_command(args)
    return EXIT_USAGE  # pragma: no cover - argparse rejects unknown commands


def _serve_command(args: argparse.Namespace) -> int:
    from ._definitions import DefinitionsError
    from ._factory import build_node

    try:
        handler = _log_handler(args.log_file)
    except OSError as exc:
        return _usage_error(f"cannot write the log file {args.log_file}: {exc.strerror or exc}")
    _setup_logging(handler, args.log_level)
    users = args.user or None
    try:
        node = build_node(
            vhosts=args.vhost,
            users=users,
            definitions=args.definitions,
            max_message_size=args.max_message_size,
            journal_maxlen=args.journal_size or None,
            journal_max_bytes=args.journal_bytes,
            memory_high_watermark=args.memory_high_watermark,
            loopback_users=args.loopback_users,
        )
        _warn_about_remote_guest(node, args.host, args.loopback_users)
        if not args.journal_size:
            with node.locked() as broker:
                broker.journal.enabled = False
    except (OSError, DefinitionsError) as exc:
        return _usage_error(str(exc))
    try:
        return asyncio.run(_serve(node, args))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 0


def _usage_error(text: str) -> int:
    print(f"fakebroker: {text}", file=sys.stderr, flush=True)
    return EXIT_USAGE


def _log_handler(path: str | None) -> logging.Handler:
    return logging.FileHandler(path, encoding="utf-8") if path else logging.StreamHandler()


def _setup_logging(handler: logging.Handler, level: str) -> None:
    """RabbitMQ's log line shape: ``2026-12-02 23:52:56.950516+00:00 [info] <0.13.0> text``."""
    handler.setFormatter(_RabbitFormatter())
    root = logging.getLogger("fakebroker")
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False


class _RabbitFormatter(logging.Formatter):
    """Times in UTC with microseconds, the level in lower case and the process, as RabbitMQ.

    Every line of a multi-line message gets the same head, as RabbitMQ writes them.
    """

    def format(self, record: logging.LogRecord) -> str:
        import datetime

        when = datetime.datetime.fromtimestamp(record.created, tz=datetime.timezone.utc)
        stamp = when.isoformat(sep=" ", timespec="microseconds")
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        pid = getattr(record, "erlang_pid", None)  # the connection's <0.N.0>, from the engine
        head = f"{stamp} [{record.levelname.lower()}] " + (f"{pid} " if pid else "")
        return "\n".join(head + line for line in text.splitlines() or [""])


def _url(
    node: Node,
    host: str,
    port: int,
    users: list[tuple[str, str]],
    vhosts: list[str],
    *,
    scheme: str = "amqp",
) -> str:
    """The URL of the first --user (else guest, else a user whose password is known)."""
    from ._urls import amqp_url

    vhost = vhosts[0] if vhosts else "/"
    with node.locked() as broker:
        known = dict(broker.users)
        candidates = [name for name, _ in users] or ["guest", *broker.user_names]
    for name in candidates:
        if name in known:
            password = known[name]
            return amqp_url(
                host=host, port=port, user=name, password=password, vhost=vhost, scheme=scheme
            )
    logging.getLogger("fakebroker").warning(
        "no user's password is known (the definitions hold hashes): add --user NAME:PASSWORD"
    )
    return amqp_url(host=host, port=port, user=None, vhost=vhost, scheme=scheme)


def _warn_about_remote_guest(node: Node, host: str, loopback_users: tuple[str, ...]) -> None:
    from .core import is_loopback

    with node.locked() as broker:
        guest = broker.has_user("guest")
    if guest and "guest" not in loopback_users and not is_loopback(f"{host}:0"):
        logging.getLogger("fakebroker").warning(
            "user 'guest' (password 'guest') may log in from other machines: --host %s "
            "listens beyond loopback and --loopback-users does not name guest",
            host,
        )


def _tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    from .fronts import tls_context

    if args.tls_port is None:
        if args.tls_cert or args.tls_key or args.tls_ca:
            raise ValueError("--tls-cert/--tls-key/--tls-ca need --tls-port")
        return None
    if not args.tls_cert:
        raise ValueError("--tls-port needs --tls-cert (and --tls-key unless the cert holds it)")
    try:
        return tls_context(
            certfile=args.tls_cert,
            keyfile=args.tls_key,
            cacertfile=args.tls_ca,
            verify_peer=args.tls_verify_peer,
            fail_if_no_peer_cert=args.tls_fail_if_no_peer_cert,
        )
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load the TLS certificate or key: {exc}") from exc


async def _serve(node: Node, args: argparse.Namespace) -> int:
    from .fronts import AMQPServer

    try:
        context = _tls(args)
    except ValueError as exc:
        return _usage_error(str(exc))
    servers = [AMQPServer(node=node, host=args.host, port=args.port)]
    if context is not None:
        servers.append(AMQPServer(node=node, host=args.host, port=args.tls_port, ssl=context))
    started: list[AMQPServer] = []
    for server in servers:
        try:
            await server.start()
        except OSError as exc:
            await _close_all(started)
            return _usage_error(_listen_error(args.host, server.port, exc))
        started.append(server)
    redis = None
    if args.redis_port is not None:
        from .fronts.redis import RedisServer

        redis = RedisServer(node=node, host=args.host, port=args.redis_port)
        try:
            await redis.start()
        except OSError as exc:
            await _close_all(started)
            return _usage_error(_listen_error(args.host, args.redis_port, exc))
    http = None
    if args.http_port is not None:  # its own thread, so AMQP load does not queue its requests
        from .fronts.http import ThreadedHTTPServer

        try:
            http = ThreadedHTTPServer(node=node, host=args.host, port=args.http_port).start()
        except OSError as exc:
            await _close_all(started)
            if redis is not None:
                await redis.close()
            return _usage_error(_listen_error(args.host, args.http_port, exc))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    for server in started:
        scheme = "amqp" if server.ssl is None else "amqps"
        print(_url(node, args.host, server.port, args.user, args.vhost, scheme=scheme), flush=True)
    if redis is not None:
        print(redis.url, flush=True)
    if http is not None:
        print(http.url, flush=True)
    await stop.wait()
    if http is not None:
        http.close()
    if redis is not None:
        await redis.close()
    await _close_all(started)
    return 0


async def _close_all(servers: list[AMQPServer]) -> None:
    for server in servers:
        await server.close()


def _listen_error(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (a RabbitMQ?); "
            "choose another with --port (--port 0 picks a free one)"
        )
    return f"cannot listen on {host}:{port} (--port {port}): {exc.strerror or exc}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
