"""The ``api`` fixture: the same management API requests to fakebroker and to RabbitMQ.

``api`` is parametrized ("fake", "real"), fakeredis style: a test makes its
requests and asserts what RabbitMQ 3.10.8 answers, and so runs against both.
"real" is RabbitMQ's management API at 127.0.0.1:15672 (guest/guest) and
AMQP at 5672, and skips with a reason when either is unreachable.  Each test
gets a vhost of its own (made and deleted through the API), so tests on the
shared RabbitMQ do not see each other.

RabbitMQ's statistics lag (its default collection interval is 5 s): counts
and connection lists are read with :meth:`Api.eventually`, which retries on
RabbitMQ until the expectation holds and checks fakebroker's answer once
(fakebroker's statistics are current).
"""

from __future__ import annotations

import base64
import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

import fakebroker

REAL_HTTP = ("127.0.0.1", 15672)
REAL_AMQP = ("127.0.0.1", 5672)


def reachable(address: tuple[str, int]) -> bool:
    """Whether something listens there."""
    try:
        with socket.create_connection(address, timeout=1.0):
            return True
    except OSError:
        return False


class Response:
    """A status, headers and body (JSON decoded when it is JSON)."""

    def __init__(self, status: int, headers: dict[str, str], raw: bytes) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.raw = raw
        self.json: Any = None
        if raw and "json" in self.headers.get("content-type", ""):
            self.json = json.loads(raw)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.raw[:300]!r}>"


class Api:
    """One management API (fakebroker's or RabbitMQ's) and a private vhost on it."""

    def __init__(self, *, kind: str, base: str, amqp_port: int) -> None:
        self.kind = kind
        self.base = base.rstrip("/")
        self.amqp_port = amqp_port
        self.auth: tuple[str, str] | None = ("guest", "guest")
        self.vhost = f"fb-http-{uuid.uuid4().hex[:10]}"
        self.users: list[str] = []
        self.vhosts: list[str] = [self.vhost]

    @property
    def real(self) -> bool:
        return self.kind == "real"

    @property
    def v(self) -> str:
        """The test's vhost, quoted for a path."""
        return quote(self.vhost, safe="")

    def amqp_url(
        self, vhost: str | None = None, user: str = "guest", password: str = "guest"
    ) -> str:
        vh = quote(vhost or self.vhost, safe="")
        return f"amqp://{user}:{password}@127.0.0.1:{self.amqp_port}/{vh}"

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        auth: tuple[str, str] | str | None = "default",
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send one request; never raises for an HTTP error status."""
        h = dict(headers or {})
        creds = self.auth if auth == "default" else auth
        if creds is not None:
            token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
            h["Authorization"] = f"Basic {token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return Response(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as err:
            return Response(err.code, dict(err.headers), err.read())

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("PUT", path, {} if body is None else body, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, {} if body is None else body, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        """A request that must succeed; its JSON."""
        response = self.request(method, path, body)
        assert response.status in (200, 201, 204), (method, path, response)
        return response.json

    def make_user(self, name: str, tags: str, *, vhosts: tuple[str, ...] = ()) -> str:
        """A user (deleted after the test) with ``tags`` and every permission on ``vhosts``."""
        name = f"{name}-{uuid.uuid4().hex[:6]}"
        self.ok("PUT", f"/api/users/{name}", {"password": "pw", "tags": tags})
        self.users.append(name)
        for vhost in vhosts:
            self.ok(
                "PUT",
                f"/api/permissions/{quote(vhost, safe='')}/{name}",
                {"configure": ".*", "write": ".*", "read": ".*"},
            )
        return name

    def make_vhost(self, name: str) -> str:
        """Another vhost (deleted after the test)."""
        name = f"{name}-{uuid.uuid4().hex[:6]}"
        self.ok("PUT", f"/api/vhosts/{name}")
        self.vhosts.append(name)
        return name

    def eventually(self, check: Callable[[], Any], timeout: float = 20.0) -> Any:
        """``check()`` until it returns without an AssertionError (retried on RabbitMQ only)."""
        if not self.real:
            return check()
        deadline = time.monotonic() + timeout
        while True:
            try:
                return check()
            except (AssertionError, KeyError):  # RabbitMQ adds stats fields as they come
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)  # RabbitMQ's statistics are collected every 5 s

    def cleanup(self) -> None:
        self.auth = ("guest", "guest")
        for user in self.users:
            self.delete(f"/api/users/{user}")
        for vhost in self.vhosts:
            self.delete(f"/api/vhosts/{quote(vhost, safe='')}")


@pytest.fixture(scope="session")
def real_available() -> bool:
    return reachable(REAL_HTTP) and reachable(REAL_AMQP)


@pytest.fixture
def fake_node() -> Iterator[fakebroker.Node]:
    node = fakebroker.Node()
    try:
        yield node
    finally:
        node.close()


@pytest.fixture(params=["fake", "real"])
def api(request: pytest.FixtureRequest, real_available: bool) -> Iterator[Api]:
    """A management API with a fresh vhost of the test's own (see the module's docstring)."""
    if request.param == "real":
        if not real_available:
            pytest.skip("RabbitMQ's management API (127.0.0.1:15672) or AMQP (5672) is unreachable")
        handle = Api(
            kind="real", base=f"http://{REAL_HTTP[0]}:{REAL_HTTP[1]}", amqp_port=REAL_AMQP[1]
        )
    else:
        node = request.getfixturevalue("fake_node")
        amqp = node.serve(port=0)
        http = node.serve_http(port=0)
        handle = Api(kind="fake", base=http.url, amqp_port=amqp.port)
    created = handle.put(f"/api/vhosts/{handle.v}")
    assert created.status == 201, created
    try:
        yield handle
    finally:
        handle.cleanup()


def assert_shape(obj: Any, shape: dict[str, Any]) -> None:
    """Every field of ``shape`` is in ``obj`` with that JSON type (bool is not int)."""
    assert isinstance(obj, dict), obj
    missing = [k for k in shape if k not in obj]
    assert not missing, f"missing {missing} in {sorted(obj)}"
    for key, kind in shape.items():
        value = obj[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if bool in kinds or not isinstance(value, bool):
            assert isinstance(value, kinds), (key, value, kind)
        else:
            raise AssertionError((key, value, "is a bool, expected", kind))
