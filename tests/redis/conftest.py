"""Every Redis scenario runs on fakebroker's Redis front (in-process and TCP) and on the
real Redis 7 at 127.0.0.1:6379; the real Redis's answer is the expected one.

The real Redis is shared: the tests use database 12 and kombu's
``global_keyprefix`` (or a key prefix of their own), and delete their keys.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from functools import cache

import pytest

from fakebroker.testing._redis import RedisBrokerHandle, RedisPool, make_redis_backend

REAL_REDIS = "redis://127.0.0.1:6379/12"
KINDS = ["redis-inproc", "redis-tcp", "redis"]


@cache
def real_redis_problem() -> str | None:
    """Why the real Redis cannot be used here, or None."""
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1.0):
            return None
    except OSError as exc:
        return f"no Redis at 127.0.0.1:6379 ({exc})"


@pytest.fixture(scope="session")
def redis_pool() -> Iterator[RedisPool]:
    """The shared TCP Redis front of this process."""
    pool = RedisPool()
    yield pool
    pool.close()


def _handle(kind: str, pool: RedisPool, request: pytest.FixtureRequest) -> RedisBrokerHandle:
    if kind == "redis":
        problem = real_redis_problem()
        if problem:
            pytest.skip(problem)
        return make_redis_backend(REAL_REDIS, pool, test_id=request.node.name)
    return make_redis_backend(kind, pool, test_id=request.node.name)


@pytest.fixture(params=KINDS)
def redis(request: pytest.FixtureRequest, redis_pool: RedisPool) -> Iterator[RedisBrokerHandle]:
    """This scenario's Redis: fakebroker in-process, fakebroker over TCP, or the real one."""
    handle = _handle(request.param, redis_pool, request)
    yield handle
    handle.close()


@pytest.fixture(params=["redis-inproc", "redis-tcp"])
def fake_redis(
    request: pytest.FixtureRequest, redis_pool: RedisPool
) -> Iterator[RedisBrokerHandle]:
    """fakebroker's Redis front only (faults, the journal, the clock)."""
    handle = _handle(request.param, redis_pool, request)
    yield handle
    handle.close()


@pytest.fixture
def real_redis(
    request: pytest.FixtureRequest, redis_pool: RedisPool
) -> Iterator[RedisBrokerHandle]:
    """The real Redis (skipped when it is not running)."""
    handle = _handle("redis", redis_pool, request)
    yield handle
    handle.close()
