"""fakeredis's command layer behind our front: one :class:`FrontSocket` per client.

fakeredis's ``FakeSocket`` runs a command (``_process_command``) against
its ``FakeServer`` and queues the reply with ``put_response``.  This
subclass keeps the command layer and changes what is around it:

- replies go to the front's connection (:attr:`FrontSocket.deliver`),
  typed for our codec (simple strings and errors stay distinct from bulk
  strings), never decoded into redis-py objects;
- a blocking command that cannot be served at once never waits on a
  condition variable: it parks (:attr:`FrontSocket.parked`) and the front
  retries it when a key changes, or ends it when its timeout passes, on
  the front's event loop;
- pub/sub messages are RESP3 pushes for a RESP3 client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from fakeredis._commands import COMMANDS_WITH_SUB
from fakeredis._helpers import NoResponse, SimpleError, SimpleString
from fakeredis._socket._fakesocket import FakeSocket

from . import _texts
from ._codec import NULL_ARRAY, Error, Push, Set, Simple

__all__ = ["FrontSocket", "Parked"]

#: Replies a subscribed connection gets as pushes in RESP3.
PUSH_KINDS = frozenset(
    {
        b"message",
        b"pmessage",
        b"smessage",
        b"subscribe",
        b"psubscribe",
        b"ssubscribe",
        b"unsubscribe",
        b"punsubscribe",
        b"sunsubscribe",
    }
)
_PUSH_COMMANDS = frozenset(kind.decode() for kind in PUSH_KINDS if b"sub" in kind)


@dataclass(slots=True)
class Parked:
    """A blocking command waiting for data: retried on change, ended at its timeout."""

    retry: Callable[[bool], Any]
    shape: Callable[[Any], Any] | None
    #: Seconds from parking (0 or None: wait for good), on the front's loop time.
    timeout: float | None

    def outcome(self, value: Any) -> Any:
        """The reply for ``value`` (None: the timeout's reply)."""
        return value if self.shape is None else self.shape(value)


_SCRIPTING = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})


def _typed(result: Any, command: str = "", fields: list[bytes] | None = None) -> Any:
    """fakeredis's reply values, with its simple strings and errors as our codec's types."""
    if isinstance(result, SimpleString):
        return Simple(result.value)
    if isinstance(result, SimpleError):
        return Error(_texts.reworded(result.value, command, fields))
    if isinstance(result, list):
        return [_typed(item, command) for item in result]
    if isinstance(result, dict):
        return {_typed(key): _typed(value, command) for key, value in result.items()}
    return result


class FrontSocket(FakeSocket):
    """One client's session in fakeredis (its db, transaction, subscriptions, protocol)."""

    def __init__(self, *, server: Any, deliver: Callable[[Any], None], info: dict[str, Any]):
        super().__init__(server, 0, client_class=redis.Redis, client_info=info)
        #: Where replies and pushes go (the front's connection; called with the server lock held).
        self.deliver = deliver
        #: The blocking command waiting for data, if any.
        self.parked: Parked | None = None
        #: The command being handled (its name, lower case), for RESP3 pushes.
        self.current: str = ""
        self._fields: list[bytes] = []

    @property
    def protocol(self) -> int:
        """The RESP version this client negotiated (HELLO), 2 until then."""
        return int(self._client_info.protocol_version)

    @property
    def db_number(self) -> int:
        """The database SELECT chose."""
        return int(self._db_num)

    @property
    def killed(self) -> bool:
        """CLIENT KILL named this client: the front closes it after the reply."""
        return bool(self._killed)

    @property
    def in_transaction(self) -> bool:
        """Between MULTI and EXEC/DISCARD."""
        return self._transaction is not None

    def handle(self, fields: list[bytes]) -> None:
        """Run one command; its reply (if any) goes to :attr:`deliver`."""
        self.current = fields[0].decode("utf-8", "replace").lower() if fields else ""
        self._fields = fields
        if self.current == "hello" and len(fields) > 1 and fields[1] not in (b"2", b"3"):
            self.deliver(Error(_texts.NOPROTO))
            return
        if self.current == "auth" and len(fields) == 2 and not self._default_password():
            self.deliver(Error(_texts.AUTH_WITHOUT_PASSWORD))
            return
        self._process_command(fields)

    # -- what fakeredis calls ---------------------------------------------------------------

    def put_response(self, msg: Any) -> None:
        if self.responses is None:  # closed
            return
        if (
            self.protocol == 3
            and isinstance(msg, list)
            and msg
            and isinstance(msg[0], bytes)
            and msg[0] in PUSH_KINDS
            and (self.current in _PUSH_COMMANDS or msg[0] in (b"message", b"pmessage", b"smessage"))
        ):
            msg = Push([_typed(item) for item in msg])
        self.deliver(msg)

    def _expireat(self, key: Any, timestamp: float, *args: bytes, **kwargs: Any) -> int:
        """As Redis: an expiry at or before now deletes the key at once.

        (fakeredis leaves it to the next access, when real time has moved on;
        on a virtual clock it has not.)
        """
        changed = int(super()._expireat(key, timestamp, *args, **kwargs))
        if changed and key.expireat is not None and key.expireat <= self._db.time:
            key.value = None
        return changed

    def release(self, server: Any) -> None:
        """The client is gone: fakeredis forgets its subscriptions and watches."""
        self._cleanup(server)

    def _default_password(self) -> bool:
        """Whether the default user has a password (``requirepass``)."""
        acl = self._server.acl.get_user_acl(b"default")
        return bool(acl._passwords)  # noqa: SLF001 - fakeredis has no public accessor for it

    def _decode_result(self, result: Any) -> Any:
        if isinstance(result, NoResponse):
            return result
        return self._top(result)

    def _top(self, result: Any) -> Any:
        """A command's whole reply, typed, in the shape Redis 7 gives it."""
        command = self.current
        if result is None and command in _texts.NULL_ARRAY_COMMANDS:
            return NULL_ARRAY
        if command == "hello" and isinstance(result, dict):
            result = {**result, "server": _texts.HELLO_SERVER, "version": _texts.HELLO_VERSION}
        typed = _typed(result, command, self._fields)
        if command in _texts.SET_COMMANDS and self.protocol == 3 and isinstance(typed, list):
            return Set(typed)
        return typed

    def _unknown_command(self, command: str, args: str | None = None) -> SimpleError:
        fields = self._fields
        if self.current in _SCRIPTING or not fields:
            return super()._unknown_command(command, args)
        if self.current in COMMANDS_WITH_SUB and len(fields) > 1:
            return SimpleError(_texts.unknown_subcommand(fields))
        return SimpleError(_texts.unknown_command(fields))

    def _blocking(
        self,
        timeout: float | None,
        func: Callable[[bool], Any],
        shape: Callable[[Any], Any] | None = None,
    ) -> Any:
        ret = func(True)
        if ret is not None or self._in_transaction:
            return ret if shape is None else shape(ret)
        self.parked = Parked(retry=func, shape=shape, timeout=timeout)
        self._blocked = True
        return NoResponse()

    def retry_parked(self) -> tuple[bool, Any]:
        """Try the parked command again: (done, its typed reply)."""
        parked = self.parked
        if parked is None:
            return False, None
        if self._unblock_reason is not None:  # CLIENT UNBLOCK
            try:
                self._take_unblock_reason()
                reply = parked.outcome(None)
            except SimpleError as exc:
                reply = exc
            return True, self._end_park(reply)
        try:
            ret = parked.retry(False)
        except SimpleError as exc:
            return True, self._end_park(exc)
        if ret is None:
            return False, None
        return True, self._end_park(parked.outcome(ret))

    def expire_parked(self) -> Any:
        """The parked command's timeout passed: its typed empty reply."""
        parked = self.parked
        if parked is None:
            return None
        return self._end_park(parked.outcome(None))

    def _end_park(self, reply: Any) -> Any:
        self.parked = None
        self._blocked = False
        self._unblock_reason = None
        return self._top(reply)
