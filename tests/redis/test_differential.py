"""A hypothesis machine sends the same random commands to fakebroker's Redis front and to the
real Redis 7, and requires the same reply bytes (the real one decides)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from fakebroker import Node
from fakebroker.core import VirtualClock

from ._raw import Raw
from .conftest import REAL_REDIS, real_redis_problem

pytestmark = pytest.mark.skipif(real_redis_problem() is not None, reason=str(real_redis_problem()))

_runs = itertools.count()
NAMES = ["a", "b", "c"]
VALUES = st.sampled_from([b"1", b"2", b"-7", b"x", b"", b"10000000000000000000", b"3.5"])
MEMBERS = st.sampled_from([b"m", b"n", b"o"])
SCORES = st.sampled_from([b"1", b"2.5", b"-3", b"inf"])  # see docs/redis.md: double faults
# Replies whose element order Redis does not define: compared sorted.
UNORDERED = {"SMEMBERS"}


def _elements(reply: bytes) -> list[bytes]:
    """The bulk strings of a flat array reply (for order-free comparison)."""
    lines = reply.split(b"\r\n")
    return sorted(lines[i + 1] for i in range(1, len(lines) - 1, 2) if lines[i].startswith(b"$"))


class RedisDifferential(RuleBasedStateMachine):
    """Random kombu-ish commands on both servers; every reply must match."""

    def __init__(self) -> None:
        super().__init__()
        self.node = Node(clock=VirtualClock())
        self.prefix = f"fbdiff:{next(_runs)}:{id(self) % 10_000}:"
        self.fake = Raw(self.node.redis.url)
        self.real = Raw(REAL_REDIS)
        self.in_multi = False

    @initialize()
    def clean(self) -> None:
        self._same("DEL", *self._keys())

    def _keys(self) -> list[str]:
        return [self.prefix + n for n in NAMES]

    def _same(self, *args: bytes | str | int) -> None:
        fake, real = self.fake.call(*args), self.real.call(*args)
        name = str(args[0]).upper()
        if name in UNORDERED and real.startswith(b"*") and not self.in_multi:
            assert _elements(fake) == _elements(real), (args, fake, real)
        else:
            assert fake == real, (args, fake, real)

    def key(self, data: st.DataObject) -> str:
        return self.prefix + data.draw(st.sampled_from(NAMES))

    @rule(data=st.data(), value=VALUES, nx=st.booleans())
    def set(self, data: st.DataObject, value: bytes, nx: bool) -> None:
        self._same("SET", self.key(data), value, *(["NX", "PX", 600_000] if nx else []))

    @rule(data=st.data())
    def get(self, data: st.DataObject) -> None:
        self._same("GET", self.key(data))

    @rule(data=st.data())
    def incr(self, data: st.DataObject) -> None:
        self._same("INCR", self.key(data))

    @rule(data=st.data(), values=st.lists(VALUES, min_size=1, max_size=3))
    def lpush(self, data: st.DataObject, values: list[bytes]) -> None:
        self._same("LPUSH", self.key(data), *values)

    @rule(data=st.data())
    def rpop_llen(self, data: st.DataObject) -> None:
        key = self.key(data)
        self._same("RPOP", key)
        self._same("LLEN", key)

    @precondition(lambda self: not self.in_multi)
    @rule(data=st.data())
    def brpop(self, data: st.DataObject) -> None:
        self._same("BRPOP", self.key(data), self.key(data), "0.01")

    @rule(data=st.data(), members=st.lists(MEMBERS, min_size=1, max_size=3), add=st.booleans())
    def sets(self, data: st.DataObject, members: list[bytes], add: bool) -> None:
        key = self.key(data)
        self._same("SADD" if add else "SREM", key, *members)
        self._same("SCARD" if self.in_multi else "SMEMBERS", key)  # set order is Redis's own

    @rule(data=st.data(), field=MEMBERS, value=VALUES, op=st.sampled_from(["HSET", "HGET", "HDEL"]))
    def hashes(self, data: st.DataObject, field: bytes, value: bytes, op: str) -> None:
        key = self.key(data)
        self._same(op, key, field, *([value] if op == "HSET" else []))
        self._same("HLEN", key)

    @rule(data=st.data(), score=SCORES, member=MEMBERS, remove=st.booleans())
    def zsets(self, data: st.DataObject, score: bytes, member: bytes, remove: bool) -> None:
        key = self.key(data)
        if remove:
            self._same("ZREM", key, member)
        else:
            self._same("ZADD", key, score, member)
        self._same("ZREVRANGEBYSCORE", key, "+inf", "-inf", "LIMIT", 0, 2, "WITHSCORES")

    @rule(data=st.data(), seconds=st.sampled_from([b"100", b"0", b"-1", b"x"]))
    def expire(self, data: st.DataObject, seconds: bytes) -> None:
        key = self.key(data)
        self._same("EXPIRE", key, seconds)
        self._same("EXISTS", key)

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        self._same("DEL", self.key(data), self.key(data))

    @precondition(lambda self: not self.in_multi)
    @rule()
    def multi(self) -> None:
        self._same("MULTI")
        self.in_multi = True

    @precondition(lambda self: self.in_multi)
    @rule(discard=st.booleans())
    def exec(self, discard: bool) -> None:
        self._same("DISCARD" if discard else "EXEC")
        self.in_multi = False

    @rule(name=st.sampled_from(["NOPE", "client", "Lpushx"]))
    def odd_commands(self, name: str) -> None:
        self._same(name, "arg")

    def teardown(self) -> None:
        if self.in_multi:
            self._same("DISCARD")
        self.real.call("DEL", *self._keys())
        self.fake.close()
        self.real.close()
        self.node.close()


RedisDifferential.TestCase.settings = settings(
    max_examples=60, stateful_step_count=25, deadline=None
)
TestRedisDifferential = RedisDifferential.TestCase
