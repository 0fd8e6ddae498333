"""Users' tags and permissions, as RabbitMQ's internal auth backend keeps them.

Rules (rabbit_auth_backend_internal, rabbit_access_control, rabbit_channel in 3.10):

- A permission is three regexes per (user, vhost): configure, write, read.
  A resource is allowed when its name *matches anywhere* in the regex
  (Erlang's ``re:run``, unanchored); an empty regex means ``^$``.
- The default exchange is checked under the name ``amq.default``.
- A user may open a connection to a vhost only if it has a permission entry
  for that vhost (any entry, even ``^$ ^$ ^$``): else 530 NOT_ALLOWED.
- Users made through the API or the command line without permissions are
  *unrestricted* (as if granted ``.* .* .*`` on every vhost): fakebroker's
  convenience for tests. Giving a user any permission, or importing it from
  definitions, makes it restricted to exactly what it was granted, as on
  RabbitMQ.
- Tags: a user never given tags (``Broker(users=)``, ``--user``) counts as
  an administrator for the management API; one given tags (definitions,
  PUT /api/users, ``add_user(tags=)``) has exactly those.
- Names the broker does not know as users are internal callers (the
  definitions loader, the HTTP API acting for an authorised user): not checked.

Topic permissions (rabbit_auth_backend_internal:check_topic_access,
rabbit_channel:check_topic_authorisation):

- A topic permission is a write and a read regex per (user, vhost, exchange).
  Only exchanges of type ``topic`` are checked: write against basic.publish's
  routing key, read against the binding key of queue.bind/unbind and
  exchange.bind/unbind whose *source* is the exchange.
- No topic permission for that exchange: allowed (unrestricted users too are
  bound by the topic permissions they are given).
- Before matching, ``{username}`` and then ``{vhost}`` in the regex are replaced
  by the user's name and the vhost's, as plain text (not escaped); other
  variables (``{client_id}`` is MQTT's) stay as written. An empty regex is ``^$``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

__all__ = ["FULL_ACCESS", "Permission", "Permissions", "TopicPermission", "is_loopback"]

#: How many passed checks a channel remembers (rabbit_channel's MAX_PERMISSION_CACHE_SIZE).
PERMISSION_CACHE_SIZE = 12

#: The three kinds of access, in rabbit_channel's words.
ACCESS = ("configure", "write", "read")


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern or "^$")
    except re.error as exc:
        raise ValueError(f"invalid permission regex {pattern!r}: {exc}") from exc


@dataclass(frozen=True)
class Permission:
    """One user's configure, write and read regexes on one vhost."""

    configure: str = ".*"
    write: str = ".*"
    read: str = ".*"
    _compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = tuple(_compile(p) for p in (self.configure, self.write, self.read))
        object.__setattr__(self, "_compiled", compiled)

    def allows(self, access: str, name: str) -> bool:
        """Whether ``access`` ("configure", "write", "read") is granted on ``name``."""
        return self._compiled[ACCESS.index(access)].search(name) is not None


FULL_ACCESS = Permission()


@dataclass(frozen=True)
class TopicPermission:
    """One user's write and read regexes on the routing keys of one exchange of one vhost."""

    exchange: str
    write: str = ".*"
    read: str = ".*"

    def __post_init__(self) -> None:
        for pattern in (self.write, self.read):  # as set_topic_permissions validates them
            _compile(pattern)

    def allows(self, access: str, routing_key: str, user: str, vhost: str) -> bool:
        """Whether ``access`` ("write", "read") is granted on ``routing_key``."""
        pattern = (self.write if access == "write" else self.read) or "^$"
        expanded = expand_topic_variables(pattern, user, vhost)
        try:
            return re.search(expanded, routing_key) is not None
        except re.error:  # a name made the regex invalid: RabbitMQ's re:run fails, no match
            return False


def expand_topic_variables(pattern: str, user: str, vhost: str) -> str:
    """``{username}`` then ``{vhost}`` replaced, as rabbit_auth_backend_internal folds its map."""
    return pattern.replace("{username}", user).replace("{vhost}", vhost)


class Permissions:
    """Tags and per-vhost permissions of every user, and the access checks."""

    def __init__(self) -> None:
        self.tags: dict[str, tuple[str, ...]] = {}
        #: Only restricted users appear here: user -> vhost -> permission.
        self._granted: dict[str, dict[str, Permission]] = {}
        #: Topic permissions: (user, vhost) -> exchange -> permission.
        self._topic: dict[tuple[str, str], dict[str, TopicPermission]] = {}

    def unrestrict(self, user: str) -> None:
        """Let ``user`` do anything on every vhost (fakebroker's default for API users)."""
        self._granted.pop(user, None)

    def restrict(self, user: str) -> None:
        """Make ``user`` restricted to what it is granted (nothing yet, if new)."""
        self._granted.setdefault(user, {})

    def set(self, user: str, vhost: str, permission: Permission) -> None:
        """Grant ``permission`` on ``vhost`` (the user becomes restricted)."""
        self._granted.setdefault(user, {})[vhost] = permission

    def clear(self, user: str, vhost: str) -> None:
        """Remove the user's permission on ``vhost`` (it stays restricted)."""
        self._granted.setdefault(user, {}).pop(vhost, None)

    def forget(self, user: str) -> None:
        """Drop everything known about ``user``."""
        self._granted.pop(user, None)
        self.tags.pop(user, None)
        for key in [k for k in self._topic if k[0] == user]:
            del self._topic[key]

    def forget_vhost(self, vhost: str) -> None:
        """The vhost was deleted: every permission on it goes."""
        for granted in self._granted.values():
            granted.pop(vhost, None)
        for key in [k for k in self._topic if k[1] == vhost]:
            del self._topic[key]

    def of(self, user: str) -> dict[str, Permission] | None:
        """The user's permissions by vhost, or None when it is unrestricted."""
        granted = self._granted.get(user)
        return None if granted is None else dict(granted)

    def may_open(self, user: str, vhost: str) -> bool:
        """Whether ``user`` has any permission entry on ``vhost``."""
        granted = self._granted.get(user)
        return granted is None or vhost in granted

    def allows(self, user: str, vhost: str, access: str, name: str) -> bool:
        """Whether ``user`` may ``access`` the resource ``name`` in ``vhost``."""
        granted = self._granted.get(user)
        if granted is None:
            return True
        permission = granted.get(vhost)
        return permission is not None and permission.allows(access, name)

    # -- topic permissions --------------------------------------------------------------------

    def set_topic(self, user: str, vhost: str, permission: TopicPermission) -> None:
        """Set the user's topic permission on ``permission.exchange`` (replacing one there)."""
        self._topic.setdefault((user, vhost), {})[permission.exchange] = permission

    def clear_topic(self, user: str, vhost: str, exchange: str | None = None) -> None:
        """Remove the user's topic permission on one exchange, or every one on the vhost."""
        granted = self._topic.get((user, vhost))
        if granted is None:
            return
        if exchange is None:
            granted.clear()
        else:
            granted.pop(exchange, None)
        if not granted:
            del self._topic[(user, vhost)]

    def topic_permissions(
        self, user: str | None = None, vhost: str | None = None
    ) -> list[tuple[str, str, TopicPermission]]:
        """(user, vhost, permission) of every topic permission, or of one user and/or vhost."""
        return [
            (u, v, permission)
            for (u, v), granted in self._topic.items()
            if (user is None or u == user) and (vhost is None or v == vhost)
            for permission in granted.values()
        ]

    def allows_topic(
        self, user: str, vhost: str, exchange: str, access: str, routing_key: str
    ) -> bool:
        """Whether ``user`` may ``access`` ("write", "read") ``routing_key`` on a topic exchange."""
        permission = self._topic.get((user, vhost), {}).get(exchange)
        return permission is None or permission.allows(access, routing_key, user, vhost)


def is_loopback(peer: str) -> bool:
    """Whether ``peer`` ("host:port", "[v6]:port") is a loopback address, as rabbit_net sees it.

    A peer that is not an IP address (the in-process pipe) is local by definition.
    """
    host = peer.rsplit(":", 1)[0] if peer.count(":") == 1 else peer
    if host.startswith("["):
        host = host[1 : host.find("]")]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback
