"""Users' permissions: configure, write and read regexes per vhost, checked where RabbitMQ checks.

Each scenario makes a user with the given permissions on ``/`` (on RabbitMQ
through the management API, which must be enabled), lets guest set up what it
needs, and records what the user's operations get.
"""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import amqp
import pytest

from ._harness import Backend

MANAGEMENT = "http://127.0.0.1:15672"
NONE = ("^$", "^$", "^$")
ALL = (".*", ".*", ".*")


def _api(method: str, path: str, body: dict[str, Any] | None = None) -> None:
    request = urllib.request.Request(
        MANAGEMENT + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "content-type": "application/json",
            "authorization": "Basic " + base64.b64encode(b"guest:guest").decode(),
        },
    )
    with urllib.request.urlopen(request, timeout=5):
        pass


class Users:
    """Makes users with permissions on one backend; removes them at the end."""

    def __init__(self, b: Backend) -> None:
        self.b = b
        self.made: list[str] = []

    def make(self, permissions: tuple[str, str, str] | None, *, tags: str = "") -> str:
        name = f"{self.b.token}-u{len(self.made)}"
        self.made.append(name)
        if self.b.fake:
            with self.b.node.locked() as broker:
                broker.add_user(name, "pw", tags=tags.split(",") if tags else (), restricted=True)
                if permissions is not None:
                    broker.set_permissions(name, "/", *permissions)
            return name
        try:
            _api("PUT", f"/api/users/{quote(name)}", {"password": "pw", "tags": tags})
        except (urllib.error.URLError, OSError) as exc:
            pytest.skip(f"RabbitMQ's management API is unreachable at {MANAGEMENT}: {exc}")
        if permissions is not None:
            configure, write, read = permissions
            body = {"configure": configure, "write": write, "read": read}
            _api("PUT", f"/api/permissions/%2F/{quote(name)}", body)
        return name

    def connect(self, name: str) -> amqp.Connection:
        return self.b.connect(userid=name, password="pw")

    def channel(self, name: str) -> Any:
        return self.b.channel(self.connect(name))

    def cleanup(self) -> None:
        if self.b.fake:
            return
        for name in self.made:
            with contextlib.suppress(Exception):
                _api("DELETE", f"/api/users/{quote(name)}")


@pytest.fixture
def users(b: Backend) -> Iterator[Users]:
    made = Users(b)
    try:
        yield made
    finally:
        made.cleanup()


def _refused(kind: str, name: str, user: str) -> str:
    return f"ACCESS_REFUSED - access to {kind} '{name}' in vhost '/' refused for user '{user}'"


def test_a_user_without_permissions_on_the_vhost_cannot_open_it(b: Backend, users: Users) -> None:
    name = users.make(None)
    got = b.error(users.connect, name)
    b.expect(
        "open",
        {k: got.get(k) for k in ("code", "text")},
        {
            "code": 530,
            "text": f"NOT_ALLOWED - access to vhost '/' refused for user '{name}'",
        },
    )


def test_a_user_with_empty_permissions_opens_the_vhost_but_may_do_nothing(
    b: Backend, users: Users
) -> None:
    name = users.make(NONE)
    q = b.name("q")
    b.channel().queue_declare(q)
    ch = users.channel(name)
    got = b.error(ch.queue_declare, b.name("mine"))
    b.expect(
        "declare",
        got,
        {
            "code": 403,
            "text": _refused("queue", b.name("mine"), name),
            "method": [50, 10],
            "closed": "channel",
        },
    )
    ch = users.channel(name)
    got = b.error(ch.queue_declare, q, passive=True)  # passive declares are not checked
    b.expect("passive", got, {"ok": [q, 0, 0]})
    got = b.error(ch.basic_get, q)
    b.expect(
        "get",
        got,
        {
            "code": 403,
            "text": _refused("queue", q, name),
            "method": [60, 70],
            "closed": "channel",
        },
    )


def test_publish_needs_write_on_the_exchange(b: Backend, users: Users) -> None:
    name = users.make(("^$", "^$", ".*"))
    ch = users.channel(name)
    ch.basic_publish(amqp.Message(b"m"), "", b.name("q"))
    got = b.error(ch.basic_qos, 0, 1, False)  # the refusal arrives before the next reply
    b.expect(
        "publish",
        got,
        {
            "code": 403,
            "text": _refused("exchange", "amq.default", name),
            "method": [60, 40],
            "closed": "channel",
        },
    )


def test_consume_get_and_purge_need_read_on_the_queue(b: Backend, users: Users) -> None:
    name = users.make((".*", ".*", "^allowed"))
    q = b.name("q")
    b.channel().queue_declare(q)
    for op, args, method in (
        ("basic_get", (q,), [60, 70]),
        ("basic_consume", (q,), [60, 20]),
        ("queue_purge", (q,), [50, 30]),
    ):
        ch = users.channel(name)
        got = b.error(getattr(ch, op), *args)
        b.expect(
            op,
            got,
            {
                "code": 403,
                "text": _refused("queue", q, name),
                "method": method,
                "closed": "channel",
            },
        )


def test_configure_is_a_regex_on_the_name(b: Backend, users: Users) -> None:
    token = b.name("")
    name = users.make((f"^{token}app\\.", ".*", ".*"))
    ch = users.channel(name)
    got = b.error(ch.queue_declare, f"{token}app.orders")
    b.expect("allowed", got, {"ok": [f"{token}app.orders", 0, 0]})
    b.name(f"{token}app.orders")
    other = b.name("other")
    b.channel().queue_declare(other)
    for op, method in (("queue_declare", [50, 10]), ("queue_delete", [50, 40])):
        ch = users.channel(name)
        got = b.error(getattr(ch, op), other)
        b.expect(
            op,
            got,
            {
                "code": 403,
                "text": _refused("queue", other, name),
                "method": method,
                "closed": "channel",
            },
        )
    ch = users.channel(name)
    got = b.error(ch.exchange_declare, b.name("x"), "direct")
    b.expect(
        "exchange",
        got,
        {
            "code": 403,
            "text": _refused("exchange", b.name("x"), name),
            "method": [40, 10],
            "closed": "channel",
        },
    )


@pytest.mark.parametrize(
    ("permissions", "refused"),
    [
        ((".*", "^$", ".*"), ("queue", "{q}")),  # write on the destination first
        ((".*", ".*", "^$"), ("exchange", "amq.direct")),  # then read on the source
    ],
    ids=["no_write_on_queue", "no_read_on_exchange"],
)
def test_bind_needs_write_on_the_queue_and_read_on_the_exchange(
    b: Backend, users: Users, permissions: tuple[str, str, str], refused: tuple[str, str]
) -> None:
    name = users.make(permissions)
    q = b.name("q")
    b.channel().queue_declare(q)
    ch = users.channel(name)
    got = b.error(ch.queue_bind, q, "amq.direct", "k")
    kind, resource = refused
    b.expect(
        "bind",
        got,
        {
            "code": 403,
            "text": _refused(kind, resource.format(q=q), name),
            "method": [50, 20],
            "closed": "channel",
        },
    )


def test_a_dead_letter_exchange_needs_write_on_it(b: Backend, users: Users) -> None:
    name = users.make((".*", "^$", ".*"))
    q, dlx = b.name("q"), b.name("dlx")
    ch = users.channel(name)
    got = b.error(ch.queue_declare, q, arguments={"x-dead-letter-exchange": dlx})
    b.expect(
        "declare",
        got,
        {
            "code": 403,
            "text": _refused("exchange", dlx, name),
            "method": [50, 10],
            "closed": "channel",
        },
    )


def test_user_id_must_be_the_users_own_unless_impersonator(b: Backend, users: Users) -> None:
    plain_user = users.make(ALL)
    impersonator = users.make(ALL, tags="impersonator")
    q = b.name("q")
    b.channel().queue_declare(q)
    ch = users.channel(impersonator)
    ch.basic_publish(amqp.Message(b"m", user_id="someone"), "", q)
    b.expect("impersonated", b.error(ch.basic_get, q, True)["ok"]["body"], "m")
    ch = users.channel(plain_user)
    ch.basic_publish(amqp.Message(b"m", user_id=plain_user), "", q)
    b.expect("own", b.error(ch.basic_get, q, True)["ok"]["body"], "m")
    ch.basic_publish(amqp.Message(b"m", user_id="someone"), "", q)
    got = b.error(ch.basic_qos, 0, 1, False)
    b.expect(
        "other",
        got,
        {
            "code": 406,
            "text": "PRECONDITION_FAILED - user_id property set to 'someone' but authenticated "
            f"user was '{plain_user}'",
            "method": [60, 40],
            "closed": "channel",
        },
    )
