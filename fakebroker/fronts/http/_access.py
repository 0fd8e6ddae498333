"""Who may use the management API, and which vhosts they see (sans-I/O).

A view over the core's users (:mod:`fakebroker.core._users` states the
rules): the tags and per-vhost permissions live in ``broker.permissions``,
a vhost's description, tags and tracing flag on the core's ``Vhost``, so
the AMQP engine and the management API enforce one model.

- tags: a user never given tags (guest, ``--user``, ``Broker(users=)``)
  counts as an administrator, as fakebroker lets such users do anything;
  any other user has the tags given (definitions, PUT /api/users);
- permissions: a user made over HTTP starts with none, as on RabbitMQ, and
  sees only the vhosts it is given; an unrestricted user has ``.*``
  everywhere until a permission of theirs is deleted (then exactly the
  ones left);
- topic permissions: a write and a read regex per (user, vhost, exchange),
  kept by the core; the API lists them sorted by vhost, user and exchange.

Callers hold the node's lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...core import Permission, TopicPermission

if TYPE_CHECKING:
    from ...core import Broker
    from ...core._vhost import Vhost

__all__ = ["Access", "Permission", "access_for"]

FULL = Permission()


class Access:
    """The management API's reading of one broker's users, tags and permissions."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.core = broker.permissions

    # -- tags -------------------------------------------------------------------------------

    def tags_of(self, user: str) -> list[str]:
        """The user's tags (administrator for a user never given any, as core/_users.py says)."""
        tags = self.core.tags.get(user)
        return ["administrator"] if tags is None else list(tags)

    def set_tags(self, user: str, tags: Any) -> None:
        """Set tags from a list or RabbitMQ's comma-separated string."""
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",")]
        self.core.tags[user] = tuple(str(t) for t in tags or [] if str(t))

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
        self.core.restrict(user)

    def can_access(self, user: str, vhost: str) -> bool:
        """Whether the user has a permission on the vhost."""
        return self.core.may_open(user, vhost)

    def permission(self, user: str, vhost: str) -> Permission | None:
        """The user's permission on the vhost, or None."""
        granted = self.core.of(user)
        if granted is None:
            return FULL
        return granted.get(vhost)

    def has_explicit(self, user: str, vhost: str) -> bool:
        """Whether a permission was set for the user on the vhost."""
        granted = self.core.of(user)
        return granted is not None and vhost in granted

    def set_permission(self, user: str, vhost: str, permission: Permission) -> None:
        """PUT /api/permissions/VHOST/USER (an unrestricted user keeps ``.*`` on the others)."""
        if self.core.of(user) is None:
            for name in self.broker.vhosts:
                self.core.set(user, name, FULL)
        self.core.set(user, vhost, permission)

    def grant_creator(self, user: str, vhost: str) -> None:
        """PUT /api/vhosts made ``vhost``: its creator gets every permission on it."""
        if self.core.of(user) is not None:
            self.core.set(user, vhost, FULL)

    def delete_permission(self, broker: Broker, user: str, vhost: str) -> bool:
        """DELETE /api/permissions/VHOST/USER; False when there was none."""
        if self.permission(user, vhost) is None:
            return False
        if self.core.of(user) is None:  # from "everything" to exactly what is left
            for name in broker.vhosts:
                self.core.set(user, name, FULL)
        self.core.clear(user, vhost)
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

    def topic_permissions(
        self, user: str | None = None, vhost: str | None = None
    ) -> list[dict[str, str]]:
        """Every topic permission (or one user's, one vhost's), sorted as RabbitMQ lists them."""
        found = self.core.topic_permissions(user, vhost)
        found.sort(key=lambda e: (e[1].encode(), e[0].encode(), e[2].exchange.encode()))
        return [topic_permission_view(u, v, t) for u, v, t in found]

    def has_topic(self, user: str, vhost: str) -> bool:
        """Whether the user has any topic permission on the vhost."""
        return bool(self.core.topic_permissions(user, vhost))

    def meta(self, vhost: str) -> Vhost:
        """The vhost, whose ``description``, ``tags`` and ``tracing`` PUT /api/vhosts sets."""
        return self.broker.vhosts[vhost]


def permission_view(user: str, vhost: str, perm: Permission) -> dict[str, str]:
    """One permission as the API shows it."""
    return {
        "user": user,
        "vhost": vhost,
        "configure": perm.configure,
        "write": perm.write,
        "read": perm.read,
    }


def topic_permission_view(user: str, vhost: str, perm: TopicPermission) -> dict[str, str]:
    """One topic permission as the API shows it."""
    return {
        "user": user,
        "vhost": vhost,
        "exchange": perm.exchange,
        "write": perm.write,
        "read": perm.read,
    }


def access_for(broker: Broker) -> Access:
    """The broker's :class:`Access` (call with the node's lock held)."""
    return Access(broker)
