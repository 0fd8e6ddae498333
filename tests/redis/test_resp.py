"""Raw RESP on fakebroker's Redis front and on the real Redis: the same bytes back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakebroker.testing._redis import RedisBrokerHandle

from ._raw import Raw, request


@pytest.fixture
def raw(redis: RedisBrokerHandle) -> Iterator[Raw]:
    conn = Raw(redis.url)
    yield conn
    conn.close()


def k(redis: RedisBrokerHandle, name: str) -> str:
    return redis.prefix + name


def test_strings_and_expiry_options(redis: RedisBrokerHandle, raw: Raw) -> None:
    key = k(redis, "s")
    assert raw.call("PING") == b"+PONG\r\n"
    assert raw.call("PING", "hi") == b"$2\r\nhi\r\n"
    assert raw.call("SET", key, "v", "NX", "PX", 100_000) == b"+OK\r\n"
    assert raw.call("SET", key, "w", "NX", "PX", 100_000) == b"$-1\r\n"
    assert raw.call("GET", key) == b"$1\r\nv\r\n"
    assert raw.call("SETEX", key, 0, "v") == b"-ERR invalid expire time in 'setex' command\r\n"
    assert raw.call("SET", key, 10) == b"+OK\r\n"
    assert raw.call("INCR", key) == b":11\r\n"
    assert raw.call("EXPIRE", key, 100) == b":1\r\n"
    assert raw.call("PEXPIRE", key, "soon") == b"-ERR value is not an integer or out of range\r\n"
    assert raw.call("MGET", key, k(redis, "none")) == b"*2\r\n$2\r\n11\r\n$-1\r\n"
    assert raw.call("SET", key, "abc") == b"+OK\r\n"
    assert raw.call("INCR", key) == b"-ERR value is not an integer or out of range\r\n"
    wrongtype = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    assert raw.call("LPUSH", key, "x") == wrongtype
    assert raw.call("DEL", key, k(redis, "none")) == b":1\r\n"


def test_error_texts(raw: Raw) -> None:
    assert raw.call("FOO", "a", "b") == (
        b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
    )
    assert raw.call("nope") == b"-ERR unknown command 'nope', with args beginning with: \r\n"
    assert raw.call("CLIENT", "FOO") == b"-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"
    assert raw.call("SCRIPT", "x") == b"-ERR unknown subcommand 'x'. Try SCRIPT HELP.\r\n"
    assert raw.call("GET") == b"-ERR wrong number of arguments for 'get' command\r\n"
    assert raw.call("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert raw.call("DISCARD") == b"-ERR DISCARD without MULTI\r\n"
    assert (
        raw.call("EVALSHA", "ab" * 20, 0) == b"-NOSCRIPT No matching script. Please use EVAL.\r\n"
    )
    assert raw.call("HELLO", 4) == b"-NOPROTO unsupported protocol version\r\n"
    assert raw.call("AUTH", "secret") == (
        b"-ERR AUTH <password> called without any password configured for the default user. "
        b"Are you sure your configuration is correct?\r\n"
    )


def test_transactions_and_watch(redis: RedisBrokerHandle, raw: Raw) -> None:
    key = k(redis, "t")
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("MULTI") == b"-ERR MULTI calls can not be nested\r\n"
    assert raw.call("SET", key, 1) == b"+QUEUED\r\n"
    assert raw.call("INCR", key) == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*2\r\n+OK\r\n:2\r\n"
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("NOPE") == b"-ERR unknown command 'NOPE', with args beginning with: \r\n"
    assert raw.call("EXEC") == (b"-EXECABORT Transaction discarded because of previous errors.\r\n")
    other = Raw(redis.url)
    try:
        assert raw.call("WATCH", key) == b"+OK\r\n"
        assert other.call("INCR", key) == b":3\r\n"
        assert raw.call("MULTI") == b"+OK\r\n"
        assert raw.call("GET", key) == b"+QUEUED\r\n"
        assert raw.call("EXEC") == b"*-1\r\n"  # the watched key changed
    finally:
        other.close()
    assert raw.call("DEL", key) == b":1\r\n"


def test_blocking_pop_times_out_and_is_served_by_a_push(redis: RedisBrokerHandle, raw: Raw) -> None:
    q1, q2 = k(redis, "q1"), k(redis, "q2")
    assert raw.call("BRPOP", q1, q2, "0.05") == b"*-1\r\n"
    raw.send(request("BRPOP", q1, q2, 5))
    pusher = Raw(redis.url)
    try:
        assert pusher.call("LPUSH", q2, "a", "b") == b":2\r\n"
    finally:
        pusher.close()
    assert raw.reply() == b"*2\r\n$%d\r\n%s\r\n$1\r\na\r\n" % (len(q2), q2.encode())
    assert raw.call("RPOP", q2) == b"$1\r\nb\r\n"
    assert raw.call("LLEN", q2) == b":0\r\n"
    assert raw.call("BRPOP", q1, "x") == b"-ERR timeout is not a float or out of range\r\n"


def test_sets_hashes_sorted_sets(redis: RedisBrokerHandle, raw: Raw) -> None:
    s, h, z = k(redis, "set"), k(redis, "hash"), k(redis, "zset")
    assert raw.call("SADD", s, "a", "b", "a") == b":2\r\n"
    assert raw.call("SREM", s, "b", "c") == b":1\r\n"
    assert raw.call("SMEMBERS", s) == b"*1\r\n$1\r\na\r\n"
    assert raw.call("HSET", h, "f", "1", "g", "2") == b":2\r\n"
    assert raw.call("HGET", h, "f") == b"$1\r\n1\r\n"
    assert raw.call("HDEL", h, "f", "x") == b":1\r\n"
    assert raw.call("HLEN", h) == b":1\r\n"
    assert raw.call("ZADD", z, 1.5, "a", 3, "b", 2, "c") == b":3\r\n"
    assert raw.call("ZREVRANGEBYSCORE", z, "+inf", "-inf", "LIMIT", 0, 2, "WITHSCORES") == (
        b"*4\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\nc\r\n$1\r\n2\r\n"
    )
    assert raw.call("ZRANGE", z, 2, 0, "BYSCORE", "REV", "LIMIT", 0, 10, "WITHSCORES") == (
        b"*4\r\n$1\r\nc\r\n$1\r\n2\r\n$1\r\na\r\n$3\r\n1.5\r\n"
    )
    assert raw.call("ZREM", z, "a", "x") == b":1\r\n"
    assert raw.call("DEL", s, h, z) == b":3\r\n"


def test_scripts_as_kombus_lock_release(redis: RedisBrokerHandle, raw: Raw) -> None:
    key = k(redis, "lock")
    script = (
        "local token = redis.call('get', KEYS[1]) "
        "if not token or token ~= ARGV[1] then return 0 end "
        "redis.call('del', KEYS[1]) return 1"
    )
    sha = raw.call("SCRIPT", "LOAD", script)
    assert sha.startswith(b"$40\r\n")
    digest = sha[5:45]
    assert raw.call("SET", key, "tok", "NX", "PX", 300_000) == b"+OK\r\n"
    assert raw.call("EVALSHA", digest, 1, key, "other") == b":0\r\n"
    assert raw.call("EVALSHA", digest, 1, key, "tok") == b":1\r\n"
    assert raw.call("EXISTS", key) == b":0\r\n"


def test_pubsub_resp2_and_resp3(redis: RedisBrokerHandle, raw: Raw) -> None:
    channel = k(redis, "/0.news")
    pattern = k(redis, "/0.news*")
    publisher = Raw(redis.url)
    resp3 = Raw(redis.url)
    try:
        assert publisher.call("PUBLISH", channel, "lost") == b":0\r\n"
        assert raw.call("PSUBSCRIBE", pattern) == (
            b"*3\r\n$10\r\npsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(pattern), pattern.encode())
        )
        assert resp3.call("HELLO", 3).startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n")
        assert resp3.call("SUBSCRIBE", channel) == (
            b">3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(channel), channel.encode())
        )
        assert publisher.call("PUBLISH", channel, "hi") == b":2\r\n"
        assert raw.reply() == b"*4\r\n$8\r\npmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$2\r\nhi\r\n" % (
            len(pattern),
            pattern.encode(),
            len(channel),
            channel.encode(),
        )
        assert resp3.reply() == b">3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$2\r\nhi\r\n" % (
            len(channel),
            channel.encode(),
        )
        assert raw.call("GET", "x") == (
            b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
        )
        assert raw.call("PUNSUBSCRIBE") == (
            b"*3\r\n$12\r\npunsubscribe\r\n$%d\r\n%s\r\n:0\r\n" % (len(pattern), pattern.encode())
        )
        assert resp3.call("UNSUBSCRIBE") == (
            b">3\r\n$11\r\nunsubscribe\r\n$%d\r\n%s\r\n:0\r\n" % (len(channel), channel.encode())
        )
    finally:
        publisher.close()
        resp3.close()


def test_resp3_types(redis: RedisBrokerHandle, raw: Raw) -> None:
    h, z = k(redis, "h3"), k(redis, "z3")
    assert raw.call("HELLO", 3).startswith(b"%7\r\n")
    assert raw.call("HSET", h, "f", "v") == b":1\r\n"
    assert raw.call("HGETALL", h) == b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n"
    assert raw.call("ZADD", z, 1.5, "m") == b":1\r\n"
    assert raw.call("ZSCORE", z, "m") == b",1.5\r\n"
    assert raw.call("GET", k(redis, "none")) == b"_\r\n"
    assert raw.call("SMEMBERS", k(redis, "none")) == b"~0\r\n"
    assert raw.call("DEL", h, z) == b":2\r\n"


def test_inline_commands_and_protocol_errors(redis: RedisBrokerHandle, raw: Raw) -> None:
    raw.send(b"PING\r\n")
    assert raw.reply() == b"+PONG\r\n"
    raw.send(b"*1\r\n+PING\r\n")
    assert raw.reply() == b"-ERR Protocol error: expected '$', got '+'\r\n"
    assert raw.closed()


def test_quit_closes_after_ok(raw: Raw) -> None:
    assert raw.call("QUIT") == b"+OK\r\n"
    assert raw.closed()
