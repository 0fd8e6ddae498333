"""Topic permissions over the management API, on fakebroker and RabbitMQ 3.10.8.

RabbitMQ's answers, probed: PUT is 201 when the user had no topic permission
on the vhost and 204 otherwise (even for another exchange); DELETE takes no
exchange (neither query string nor body: every one of the user's topic
permissions on the vhost goes); lists are sorted by vhost, then user, then
exchange; every endpoint needs the administrator tag.  A PUT takes effect on
AMQP at once (on new channels: a channel keeps the checks it passed).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import amqp
import pytest

from .conftest import Api

NOT_FOUND = {"error": "Object Not Found", "reason": "Not Found"}
NOT_ADMIN = {"error": "not_authorised", "reason": "Not administrator user"}
NOT_THERE = {"error": "bad_request", "reason": "vhost_or_user_not_found"}
FIELDS = ["user", "vhost", "exchange", "write", "read"]


def _path(api: Api, user: str, vhost: str | None = None) -> str:
    return f"/api/topic-permissions/{quote(vhost or api.vhost, safe='')}/{quote(user, safe='')}"


def _put(api: Api, user: str, exchange: str, write: str, read: str, **kw: Any) -> int:
    body = {"exchange": exchange, "write": write, "read": read}
    return api.put(_path(api, user, kw.pop("vhost", None)), body, **kw).status


def _entry(user: str, vhost: str, exchange: str, write: str, read: str) -> dict[str, str]:
    return {"user": user, "vhost": vhost, "exchange": exchange, "write": write, "read": read}


def _ours(items: list[dict[str, Any]], api: Api) -> list[dict[str, Any]]:
    """The entries of this test's users (RabbitMQ is shared with other tests)."""
    return [i for i in items if i["user"] in api.users]


def test_put_get_replace_and_delete(api: Api) -> None:
    user = api.make_user("topic", "", vhosts=(api.vhost,))
    assert (api.get(_path(api, user)).status, api.get(_path(api, user)).json) == (404, NOT_FOUND)
    assert _put(api, user, "amq.topic", "^a", "^b") == 201
    assert _put(api, user, "amq.topic", "^a2", "^b2") == 204  # replaced
    assert _put(api, user, "x2", ".*", "") == 204  # the user had one on the vhost already
    got = api.get(_path(api, user))
    assert got.status == 200
    expected = [
        _entry(user, api.vhost, "amq.topic", "^a2", "^b2"),
        _entry(user, api.vhost, "x2", ".*", ""),
    ]
    key = lambda e: e["exchange"]  # noqa: E731 - RabbitMQ does not sort this one
    assert sorted(got.json, key=key) == expected
    assert [list(e) for e in got.json] == [FIELDS, FIELDS]
    by_user = api.get(f"/api/users/{user}/topic-permissions")
    assert (by_user.status, by_user.json) == (200, expected)
    by_vhost = api.get(f"/api/vhosts/{api.v}/topic-permissions")
    assert (by_vhost.status, by_vhost.json) == (200, expected)
    assert {tuple(e) for e in by_vhost.json} == {("vhost", "user", "exchange", "write", "read")}
    every = api.get("/api/topic-permissions")
    assert every.status == 200 and _ours(every.json, api) == expected
    assert [list(e) for e in _ours(every.json, api)] == [FIELDS, FIELDS]
    assert _ours(api.get("/api/topic-permissions/").json, api) == expected

    assert api.delete(_path(api, user)).status == 204
    assert (api.get(_path(api, user)).status, api.get(_path(api, user)).json) == (404, NOT_FOUND)
    assert api.get(f"/api/users/{user}/topic-permissions").json == []
    assert api.get(f"/api/vhosts/{api.v}/topic-permissions").json == []
    gone = api.delete(_path(api, user))  # none left
    assert (gone.status, gone.json) == (404, NOT_FOUND)
    assert _put(api, user, "amq.topic", "^a", "^b") == 201  # new again


@pytest.mark.parametrize("how", ["query", "body"])
def test_delete_takes_no_exchange(api: Api, how: str) -> None:
    """RabbitMQ 3.10.8 reads no exchange: DELETE with one still clears them all."""
    user = api.make_user("topic", "", vhosts=(api.vhost,))
    for exchange in ("zz", "aa", "mm"):
        _put(api, user, exchange, ".*", ".*")
    if how == "query":
        deleted = api.delete(_path(api, user) + "?exchange=nosuch")
    else:
        deleted = api.request("DELETE", _path(api, user), {"exchange": "mm"})
    assert deleted.status == 204
    assert api.get(_path(api, user)).status == 404
    assert api.get(f"/api/users/{user}/topic-permissions").json == []


def test_lists_are_sorted_by_vhost_then_user_then_exchange(api: Api) -> None:
    other = api.make_vhost("a-topic")
    first_vhost, second_vhost = sorted([api.vhost, other])
    u1 = api.make_user("topic-b", "")
    u2 = api.make_user("topic-u", "")
    low, high = sorted([u1, u2])
    for exchange in ("zz", "aa", "mm"):
        _put(api, high, exchange, ".*", ".*", vhost=second_vhost)
    _put(api, low, "zz", "w", "r", vhost=second_vhost)
    _put(api, high, "zz", "w", "r", vhost=first_vhost)
    expected = [
        _entry(high, first_vhost, "zz", "w", "r"),
        _entry(low, second_vhost, "zz", "w", "r"),
        *[_entry(high, second_vhost, x, ".*", ".*") for x in ("aa", "mm", "zz")],
    ]
    assert _ours(api.get("/api/topic-permissions").json, api) == expected
    by_user = api.get(f"/api/users/{high}/topic-permissions").json
    assert by_user == [e for e in expected if e["user"] == high]
    by_vhost = api.get(f"/api/vhosts/{quote(second_vhost, safe='')}/topic-permissions").json
    assert [(e["user"], e["exchange"]) for e in by_vhost] == [
        (low, "zz"),
        (high, "aa"),
        (high, "mm"),
        (high, "zz"),
    ]
    by_exchange = _ours(api.get("/api/topic-permissions?sort=exchange").json, api)
    assert [(e["exchange"], e["vhost"], e["user"]) for e in by_exchange] == [
        ("aa", second_vhost, high),
        ("mm", second_vhost, high),
        ("zz", first_vhost, high),
        ("zz", second_vhost, low),
        ("zz", second_vhost, high),
    ]
    columns = api.get(f"/api/users/{low}/topic-permissions?columns=user,exchange").json
    assert columns == [{"user": low, "exchange": "zz"}]
    paged = api.get(f"/api/users/{high}/topic-permissions?page=1&page_size=2").json
    assert paged == by_user  # not paginated: the whole list


def test_unknown_vhost_or_user(api: Api) -> None:
    user = api.make_user("topic", "", vhosts=(api.vhost,))
    body = {"exchange": "amq.topic", "write": ".*", "read": ".*"}
    nosuch = f"nosuch-{uuid.uuid4().hex[:8]}"
    for path in (_path(api, user, nosuch), _path(api, nosuch)):
        for attempt in (api.put(path, body), api.put(path, {}), api.put(path, raw=b"notjson")):
            assert (attempt.status, attempt.json) == (400, NOT_THERE), path
        deleted = api.delete(path)
        assert (deleted.status, deleted.json) == (404, NOT_FOUND)
        assert (api.get(path).status, api.get(path).json) == (404, NOT_FOUND)
    for path in (
        f"/api/users/{nosuch}/topic-permissions",
        f"/api/vhosts/{nosuch}/topic-permissions",
    ):
        got = api.get(path)
        assert (got.status, got.json) == (404, NOT_FOUND), path


def _codes(text: str) -> list[int]:
    return [ord(c) for c in text]


@pytest.mark.parametrize(
    ("pattern", "message", "offset"),
    [
        ("(", "missing )", 1),
        ("é(", "missing )", 3),  # a byte offset
        ("[", "missing terminating ] for character class", 1),
        ("*", "nothing to repeat", 0),
        ("a|*", "nothing to repeat", 2),
        ("a**", "nothing to repeat", 2),
        ("a)", "unmatched parentheses", 1),
        ("a{2,1}", "numbers out of order in {} quantifier", 5),
        ("\\", "\\ at end of pattern", 1),
        ("[\\", "\\ at end of pattern", 2),
        ("ab[z-a]", "range out of order in character class", 5),
        ("[a-\\d]", "invalid range in character class", 4),
        ("(?P<n", "syntax error in subpattern name (missing terminator)", 5),
        ("(?<n", "syntax error in subpattern name (missing terminator)", 4),
        ("(?P<x>a)(?P<xy>b)(?P<x>c)", "two named subpatterns have the same name", 22),
        ("(?z)", "unrecognized character after (? or (?-", 2),
        ("x(?", "unrecognized character after (? or (?-", 3),
        ("\\k", "\\k is not followed by a braced, angle-bracketed, or quoted name", 1),
    ],
)
def test_invalid_regexp(api: Api, pattern: str, message: str, offset: int) -> None:
    """re:compile's error (PCRE's words, as a list of character codes) for write, then read."""
    user = api.make_user("topic", "", vhosts=(api.vhost,))
    expected = {
        "error": "bad_request",
        "reason": ["invalid_regexp", pattern, [_codes(message), offset]],
    }
    body = {"exchange": "amq.topic", "write": pattern, "read": "["}
    got = api.put(_path(api, user), body)
    assert (got.status, got.json) == (400, expected)
    got = api.put(_path(api, user), {"exchange": "amq.topic", "write": ".*", "read": pattern})
    assert (got.status, got.json) == (400, expected)
    assert api.get(_path(api, user)).status == 404  # nothing was set


def test_bad_bodies(api: Api) -> None:
    user = api.make_user("topic", "", vhosts=(api.vhost,))
    path = _path(api, user)
    for body, keys in (
        ({}, "[{key_missing,exchange},{key_missing,write},{key_missing,read}]"),
        ({"exchange": "amq.topic"}, "[{key_missing,write},{key_missing,read}]"),
        ({"write": "a", "read": "b"}, "[{key_missing,exchange}]"),
    ):
        got = api.put(path, body)
        assert (got.status, got.json) == (400, {"error": "bad_request", "reason": keys})
    empty = api.request("PUT", path, raw=b"")
    assert empty.json == {
        "error": "bad_request",
        "reason": "[{key_missing,exchange},{key_missing,write},{key_missing,read}]",
    }
    for raw in (b"notjson", b"[]"):
        got = api.request("PUT", path, raw=raw)
        assert (got.status, got.json) == (400, {"error": "bad_request", "reason": "not_json"})
    # a regex that is not a string crashes RabbitMQ's handler; read is checked after write
    for write, read in ((1, "["), (None, ".*"), (".*", True)):
        body = {"exchange": "amq.topic", "write": write, "read": read}
        assert api.put(path, body).status == 500, body
    assert api.get(path).status == 404
    assert _put(api, user, "amq.topic", "", "") == 201  # empty regexes are fine
    assert api.get(path).json == [_entry(user, api.vhost, "amq.topic", "", "")]


def test_only_administrators(api: Api) -> None:
    target = api.make_user("topic", "", vhosts=(api.vhost,))
    _put(api, target, "amq.topic", ".*", ".*")
    body = {"exchange": "amq.topic", "write": ".*", "read": ".*"}
    for tags in ("management", "monitoring", "policymaker"):
        caller = (api.make_user(f"topic-{tags}", tags, vhosts=(api.vhost,)), "pw")
        for method, path in (
            ("GET", "/api/topic-permissions"),
            ("GET", f"/api/users/{target}/topic-permissions"),
            ("GET", f"/api/vhosts/{api.v}/topic-permissions"),
            ("GET", _path(api, target)),
            ("PUT", _path(api, target)),
            ("DELETE", _path(api, target)),
        ):
            got = api.request(method, path, body if method == "PUT" else None, auth=caller)
            assert (got.status, got.json) == (401, NOT_ADMIN), (tags, method, path)
    # an administrator needs no permission on the vhost
    admin = (api.make_user("topic-admin", "administrator"), "pw")
    assert api.get(_path(api, target), auth=admin).status == 200
    assert api.get(f"/api/vhosts/{api.v}/topic-permissions", auth=admin).status == 200
    assert api.put(_path(api, target), dict(body, exchange="x"), auth=admin).status == 204
    assert api.delete(_path(api, target), auth=admin).status == 204
    assert api.put(_path(api, target), body, auth=admin).status == 201


def _connect(api: Api, user: str) -> amqp.Connection:
    conn = amqp.Connection(
        host=f"127.0.0.1:{api.amqp_port}", virtual_host=api.vhost, userid=user, password="pw"
    )
    conn.connect()
    return conn


def test_a_put_refuses_publishes_over_amqp_and_a_delete_allows_them(api: Api) -> None:
    user = api.make_user("topic", "", vhosts=(api.vhost,))
    assert _put(api, user, "amq.topic", "^allowed\\.", ".*") == 201
    conn = _connect(api, user)
    try:
        ch = conn.channel()
        ch.basic_publish(amqp.Message(b"ok"), exchange="amq.topic", routing_key="allowed.x")
        ch.basic_qos(0, 1, False)  # a round trip: the publish was accepted
        ch.basic_publish(amqp.Message(b"no"), exchange="amq.topic", routing_key="denied.x")
        with pytest.raises(amqp.exceptions.AccessRefused) as refused:
            ch.basic_qos(0, 1, False)
        assert refused.value.reply_text == (
            f"ACCESS_REFUSED - access to topic 'denied.x' in exchange 'amq.topic' in vhost "
            f"'{api.vhost}' refused for user '{user}'"
        )
        ch2 = conn.channel()  # other exchange types are not checked
        ch2.basic_publish(amqp.Message(b"m"), exchange="amq.direct", routing_key="denied.x")
        ch2.basic_qos(0, 1, False)
        assert api.delete(_path(api, user)).status == 204
        ch3 = conn.channel()
        ch3.basic_publish(amqp.Message(b"now"), exchange="amq.topic", routing_key="denied.x")
        ch3.basic_qos(0, 1, False)
    finally:
        conn.close()


def test_a_put_refuses_a_bind_over_amqp(api: Api) -> None:
    user = api.make_user("topic", "", vhosts=(api.vhost,))
    assert _put(api, user, "amq.topic", ".*", "^public\\.") == 201
    conn = _connect(api, user)
    try:
        ch = conn.channel()
        ch.queue_declare("mine", exclusive=True)
        ch.queue_bind("mine", "amq.topic", "public.news")
        with pytest.raises(amqp.exceptions.AccessRefused) as refused:
            ch.queue_bind("mine", "amq.topic", "private.news")
        assert "access to topic 'private.news' in exchange 'amq.topic'" in str(
            refused.value.reply_text
        )
    finally:
        conn.close()


def test_put_permissions_is_checked_the_same_way(api: Api) -> None:
    """PUT /api/permissions: the same order of checks; the bad regex is shown as its bytes."""
    user = api.make_user("perm", "")
    full = {"configure": ".*", "write": ".*", "read": ".*"}
    nosuch = f"nosuch-{uuid.uuid4().hex[:8]}"
    for path in (f"/api/permissions/{nosuch}/{user}", f"/api/permissions/{api.v}/{nosuch}"):
        for body in (full, {}, dict(full, configure="(")):
            got = api.put(path, body)
            assert (got.status, got.json) == (400, NOT_THERE), (path, body)
    path = f"/api/permissions/{api.v}/{user}"
    got = api.put(path, {"configure": "é(", "write": "[", "read": "*"})
    shown = list("é(".encode())
    reason = ["invalid_regexp", shown, [_codes("missing )"), 3]]
    assert (got.status, got.json) == (400, {"error": "bad_request", "reason": reason})
    got = api.put(path, dict(full, read="*"))
    reason = ["invalid_regexp", [42], [_codes("nothing to repeat"), 0]]
    assert (got.status, got.json) == (400, {"error": "bad_request", "reason": reason})
    assert api.put(path, dict(full, configure=1)).status == 500
    got = api.put(path, {"configure": ".*"})
    missing = "[{key_missing,write},{key_missing,read}]"
    assert (got.status, got.json) == (400, {"error": "bad_request", "reason": missing})
    assert api.get(path).status == 404  # none of those set anything
    assert api.put(path, full).status == 201
