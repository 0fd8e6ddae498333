"""What a connection writes to the broker's log, as RabbitMQ 3.10 writes it.

The engine never imports :mod:`logging` (it would load ``threading``): a
front injects a :class:`LogSink` (a ``logging.Logger`` is one), and the
lines go to it with ``%``-style arguments, formatted only if enabled.

Lines (probed against RabbitMQ 3.10.8's log; ``<0.N.0>`` is the
connection's process, ``NAME`` is ``peer -> local``, and ``peer -> local -
CLIENT`` once the client gave a ``connection_name``):

- info ``accepting AMQP connection <0.N.0> (NAME)``;
- info ``connection <0.N.0> (NAME) has a client-provided name: CLIENT``;
- info ``connection <0.N.0> (NAME): user 'U' authenticated and granted
  access to vhost 'V'``;
- info ``closing AMQP connection <0.N.0> (NAME, vhost: 'V', user: 'U')``
  when the client closes (``(NAME)`` alone before connection.open);
- warning ``closing AMQP connection <0.N.0> (NAME, vhost: 'V', user:
  'U'):`` then ``client unexpectedly closed TCP connection``;
- error ``Channel error on connection <0.N.0> (NAME, vhost: 'V', user:
  'U'), channel C:`` then ``operation M caused a channel exception
  not_found: TEXT``;
- error ``Error on AMQP connection <0.N.0> (NAME, state: starting):`` then
  ``PLAIN login refused: user 'U' - invalid credentials``; at
  connection.open ``(NAME, user: 'U', state: opening):`` then ``vhost V
  not found``, followed by info ``closing AMQP connection <0.N.0> (NAME,
  vhost: 'none', user: 'U')``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Protocol

from fakebroker.core.errors import REPLY_NAMES, AMQPError

__all__ = ["ConnectionLog", "LogSink", "default_sink"]

_PIDS = itertools.count(1000)


class LogSink(Protocol):
    """Where log lines go: the methods of a ``logging.Logger`` the engine calls.

    ``extra`` carries ``erlang_pid``, the connection's ``<0.N.0>`` (the CLI's
    formatter puts it after the level, as RabbitMQ does).
    """

    def info(self, msg: str, /, *args: object, extra: Mapping[str, object] | None = None) -> None:
        """An informational line."""

    def warning(
        self, msg: str, /, *args: object, extra: Mapping[str, object] | None = None
    ) -> None:
        """A warning line."""

    def error(self, msg: str, /, *args: object, extra: Mapping[str, object] | None = None) -> None:
        """An error line."""

    def exception(
        self, msg: str, /, *args: object, extra: Mapping[str, object] | None = None
    ) -> None:
        """An error line with the exception being handled."""


def default_sink() -> LogSink:
    """The ``fakebroker`` logger (imported here, when an engine is made without a sink)."""
    import logging

    return logging.getLogger("fakebroker")


class ConnectionLog:
    """The log lines of one connection."""

    __slots__ = ("client", "name", "pid", "sink", "user", "vhost")

    def __init__(self, *, sink: LogSink, name: str) -> None:
        self.sink = sink
        self.name = name
        self.pid = f"<0.{next(_PIDS)}.0>"
        self.client = ""
        self.user: str | None = None
        self.vhost: str | None = None

    def _info(self, msg: str, *args: object) -> None:
        self.sink.info(msg, *_printable(args), extra={"erlang_pid": self.pid})

    def _warning(self, msg: str, *args: object) -> None:
        self.sink.warning(msg, *_printable(args), extra={"erlang_pid": self.pid})

    def _error(self, msg: str, *args: object) -> None:
        self.sink.error(msg, *_printable(args), extra={"erlang_pid": self.pid})

    def _exception(self, msg: str, *args: object) -> None:
        self.sink.exception(msg, *_printable(args), extra={"erlang_pid": self.pid})

    def _label(self) -> str:
        return f"{self.name} - {self.client}" if self.client else self.name

    def _where(self) -> str:
        if self.vhost is None:
            return self._label()
        return f"{self._label()}, vhost: '{self.vhost}', user: '{self.user}'"

    def accepted(self) -> None:
        """A client connected."""
        self._info("accepting AMQP connection %s (%s)", self.pid, self.name)

    def named(self, client: str) -> None:
        """The client gave a ``connection_name``."""
        self._info("connection %s (%s) has a client-provided name: %s", self.pid, self.name, client)
        self.client = client

    def authenticated(self, user: str, vhost: str) -> None:
        """connection.open succeeded."""
        self.user, self.vhost = user, vhost
        self._info(
            "connection %s (%s): user '%s' authenticated and granted access to vhost '%s'",
            self.pid,
            self._label(),
            user,
            vhost,
        )

    def closing(self) -> None:
        """The client closed the connection."""
        self._info("closing AMQP connection %s (%s)", self.pid, self._where())

    def lost(self) -> None:
        """The transport went away without connection.close."""
        self._warning(
            "closing AMQP connection %s (%s):\nclient unexpectedly closed TCP connection",
            self.pid,
            self._where(),
        )

    def channel_error(self, channel: int, method: str, error: AMQPError) -> None:
        """A channel was closed by an error."""
        self._error(
            "Channel error on connection %s (%s), channel %d:\n"
            "operation %s caused a channel exception %s: %s",
            self.pid,
            self._where(),
            channel,
            method,
            REPLY_NAMES.get(error.code, "unknown").lower(),
            error.text,
        )

    def login_refused(self, mechanism: str, user: str) -> None:
        """start-ok with credentials that do not log in."""
        self._error(
            "Error on AMQP connection %s (%s, state: starting):\n"
            "%s login refused: user '%s' - invalid credentials",
            self.pid,
            self._label(),
            mechanism,
            user,
        )

    def open_refused(self, user: str, error: AMQPError) -> None:
        """connection.open refused (an unknown vhost); the connection closes."""
        self._error(
            "Error on AMQP connection %s (%s, user: '%s', state: opening):\n%s",
            self.pid,
            self._label(),
            user,
            error.text,
        )
        self.user, self.vhost = user, "none"

    def internal_error(self) -> None:
        """A bug in fakebroker: the client gets 541 INTERNAL_ERROR."""
        self._exception("internal error on connection %s (%s)", self.pid, self._label())


def _printable(args: tuple[object, ...]) -> tuple[object, ...]:
    """Texts whose raw bytes are not UTF-8 (names kept with surrogateescape) shown as
    ``\\xff`` escapes: a log line must be encodable wherever it goes."""
    return tuple(
        a.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        if isinstance(a, str) and not a.isascii()
        else a
        for a in args
    )
