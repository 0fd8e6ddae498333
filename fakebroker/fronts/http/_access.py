"""Who may use the management API, and which vhosts they see (sans-I/O).

The core keeps users and passwords; what only the management API needs
lives here, one :class:`Access` per broker (:func:`access_for`):

- tags: a user made or tagged over HTTP (or by definitions posted to it)
  has the tags given; any other user (guest, ``--user``, a definitions file
  loaded at start) is an administrator, as fakebroker lets every user do
  anything;
- permissions: a user made over HTTP starts with none, as on RabbitMQ, and
  sees only the vhosts it is given; any other user has ``.*`` everywhere
  until a permission of theirs is deleted (then exactly the ones left);
- vhost metadata (description, tags, tracing) given with PUT /api/vhosts.
  ``tracing`` is stored and reported; fakebroker publishes nothing to
  ``amq.rabbitmq.trace`` (docs/http.md).

Callers hold the node's lock.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...core import Broker

__all__ = ["Access", "Permission", "access_for"]

ALL = ".*"


@dataclass(slots=True)
class Permission:
    """configure / write / read patterns of one user on one vhost."""

    configure: str = ALL
    write: str = ALL
    read: str = ALL


@dataclass(slots=True)
class VhostMeta:
    """What PUT /api/vhosts/NAME sets beyond the name."""

    description: str = ""
    tags: list[str] = field(default_factory=list)
    tracing: bool = False


class Access:
    """Tags, permissions and vhost metadata of one broker's management API."""

    def __init__(self) -> None:
        self.tags: dict[str, list[str]] = {}
        #: Explicit permissions: user -> vhost -> patterns.
        self.explicit: dict[str, dict[str, Permission]] = {}
        #: Users that see only their explicit permissions.
        self.restricted: set[str] = set()
        self.vhosts: dict[str, VhostMeta] = {}

    # -- tags -------------------------------------------------------------------------------

    def tags_of(self, user: str) -> list[str]:
        """The user's tags (administrator unless set over HTTP)."""
        return list(self.tags.get(user, ["administrator"]))

    def set_tags(self, user: str, tags: Any) -> None:
        """Set tags from a list or RabbitMQ's comma-separated string."""
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",")]
        self.tags[user] = [str(t) for t in tags or [] if str(t)]

    def is_admin(self, user: str) -> bool:
        """Whether the user has the administrator tag."""
        return "administrator" in self.tags_of(user)

    def is_monitor(self, user: str) -> bool:
        """administrator or monitoring: sees every vhost's objects read-only."""
        return bool({"administrator", "monitoring"} & set(self.tags_of(user)))

    def is_management(self, user: str) -> bool:
        """Whether the user may use the management API at all."""
        tags = set(self.tags_of(user))
        return bool({"administrator", "monitoring", "policymaker", "management"} & tags)

    # -- permissions ------------------------------------------------------------------------

    def new_user(self, user: str) -> None:
        """A user made over HTTP: no permissions until some are set."""
        self.restricted.add(user)
        self.explicit.setdefault(user, {})

    def forget_user(self, user: str) -> None:
        """The user was deleted."""
        self.tags.pop(user, None)
        self.explicit.pop(user, None)
        self.restricted.discard(user)

    def can_access(self, user: str, vhost: str) -> bool:
        """Whether the user has a permission on the vhost."""
        if user not in self.restricted:
            return True
        return vhost in self.explicit.get(user, {})

    def permission(self, user: str, vhost: str) -> Permission | None:
        """The user's permission on the vhost, or None."""
        given = self.explicit.get(user, {}).get(vhost)
        if given is not None:
            return given
        return None if user in self.restricted else Permission()

    def set_permission(self, user: str, vhost: str, permission: Permission) -> None:
        """PUT /api/permissions/VHOST/USER."""
        self.explicit.setdefault(user, {})[vhost] = permission

    def delete_permission(self, broker: Broker, user: str, vhost: str) -> bool:
        """DELETE /api/permissions/VHOST/USER; False when there was none."""
        if self.permission(user, vhost) is None:
            return False
        if user not in self.restricted:  # from "everything" to exactly what is left
            given = self.explicit.setdefault(user, {})
            for name in broker.vhosts:
                given.setdefault(name, Permission())
            self.restricted.add(user)
        self.explicit[user].pop(vhost, None)
        return True

    def permissions(self, broker: Broker) -> list[dict[str, str]]:
        """Every (user, vhost) permission, as GET /api/permissions lists them."""
        result = []
        for user in broker.user_names:
            for vhost in broker.vhosts:
                perm = self.permission(user, vhost)
                if perm is not None:
                    result.append(permission_view(user, vhost, perm))
        return result

    def forget_vhost(self, vhost: str) -> None:
        """The vhost was deleted: its permissions and metadata go."""
        self.vhosts.pop(vhost, None)
        for given in self.explicit.values():
            given.pop(vhost, None)

    def meta(self, vhost: str) -> VhostMeta:
        """The vhost's metadata (defaults when never set)."""
        return self.vhosts.get(vhost) or VhostMeta()


def permission_view(user: str, vhost: str, perm: Permission) -> dict[str, str]:
    """One permission as the API shows it."""
    return {
        "user": user,
        "vhost": vhost,
        "configure": perm.configure,
        "write": perm.write,
        "read": perm.read,
    }


_access: weakref.WeakKeyDictionary[Broker, Access] = weakref.WeakKeyDictionary()


def access_for(broker: Broker) -> Access:
    """The broker's :class:`Access` (made on first use; call with the node's lock held)."""
    access = _access.get(broker)
    if access is None:
        access = _access[broker] = Access()
    return access
