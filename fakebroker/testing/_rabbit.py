"""A real RabbitMQ as a test backend, isolated per test.

Isolation: a fresh vhost made through the management API (HTTP port 15672
on the broker's host) when the plugin is enabled; otherwise the URL's own
vhost, and tests take private names from :meth:`RabbitMQHandle.unique`,
which are deleted after the test.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from .._urls import amqp_url, parse_amqp_url
from ._idle import ConnectionSet
from ._idle import wait_for as _wait_for

__all__ = ["Management", "RabbitMQHandle"]

MANAGEMENT_PORT = 15672
HTTP_TIMEOUT = 5.0


class Management:
    """The few management API calls the plugin needs (vhosts and permissions)."""

    def __init__(self, *, host: str, user: str, password: str, port: int = MANAGEMENT_PORT) -> None:
        self.base = f"http://{host}:{port}/api"
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._auth = f"Basic {token}"
        self.user = user

    def available(self) -> bool:
        """Whether the API answers with these credentials."""
        try:
            self._call("GET", "/overview")
        except (OSError, urllib.error.HTTPError):
            return False
        return True

    def create_vhost(self, name: str) -> None:
        """Create ``name`` and give our user every permission on it."""
        self._call("PUT", f"/vhosts/{quote(name, safe='')}", {})
        body = {"configure": ".*", "write": ".*", "read": ".*"}
        self._call("PUT", f"/permissions/{quote(name, safe='')}/{quote(self.user, safe='')}", body)

    def delete_vhost(self, name: str) -> None:
        """Delete ``name`` (and everything in it)."""
        self._call("DELETE", f"/vhosts/{quote(name, safe='')}")

    def queues(self, vhost: str) -> list[dict[str, Any]]:
        """The management API's view of the vhost's queues."""
        result: list[dict[str, Any]] = self._call("GET", f"/queues/{quote(vhost, safe='')}")
        return result

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", self._auth)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            payload = response.read()
        return json.loads(payload) if payload else None


class RabbitMQHandle:
    """A real RabbitMQ for one test: ``url``, ``unique()``, clients and ``wait_for``.

    The journal-based inspection API (``published`` ...) exists only on
    fakebroker; tests that need it use the ``broker`` fixture.
    """

    kind = "amqp"

    def __init__(self, *, url: str, management: Management | None, test_id: str) -> None:
        self._base = parse_amqp_url(url)
        self._management = management
        self._token = uuid.uuid4().hex[:8]
        self._names: list[str] = []
        self._connections = ConnectionSet()
        self.vhost = str(self._base["vhost"])
        if management is not None:
            self.vhost = f"fakebroker-{test_id[:60]}-{self._token}"
            management.create_vhost(self.vhost)
        base = self._base
        self.url = amqp_url(
            host=base["host"],
            port=base["port"],
            user=base["user"],
            password=base["password"],
            vhost=self.vhost,
        )

    def __repr__(self) -> str:
        return f"<RabbitMQHandle {self.url}>"

    @property
    def amqp_url(self) -> str:
        """The same as :attr:`url` (a real RabbitMQ always has a socket)."""
        return self.url

    @property
    def isolated_vhost(self) -> bool:
        """True when the test has a vhost of its own."""
        return self._management is not None

    def unique(self, name: str) -> str:
        """A name private to this test: ``name`` in a private vhost, else ``name.TOKEN``.

        Names handed out on a shared vhost are deleted (as queue and as
        exchange) after the test.
        """
        if self.isolated_vhost:
            return name
        private = f"{name}.{self._token}"
        self._names.append(private)
        return private

    def connection(self, **options: Any) -> Any:
        """A :class:`kombu.Connection` to the test's vhost (closed after the test)."""
        from kombu import connection

        factory: Any = connection.Connection
        return self._connections.add(factory(self.url, **options))

    @property
    def queues(self) -> dict[str, dict[str, Any]]:
        """The vhost's queues from the management API (needs the management plugin)."""
        if self._management is None:
            raise RuntimeError("listing queues of a real RabbitMQ needs its management plugin")
        return {q["name"]: q for q in self._management.queues(self.vhost)}

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Poll ``predicate`` until truthy and return its value (TimeoutError after ``timeout``)."""
        return _wait_for(predicate, timeout)

    def close(self) -> None:
        """Close the test's connections; delete its vhost or its private names."""
        self._connections.close_all()
        if self._management is not None:
            self._management.delete_vhost(self.vhost)
        elif self._names:
            self._delete_names()

    def _delete_names(self) -> None:
        import amqp

        conn = amqp.Connection(
            host=f"{self._base['host']}:{self._base['port']}",
            userid=self._base["user"],
            password=self._base["password"],
            virtual_host=self.vhost,
            connect_timeout=HTTP_TIMEOUT,
        )
        conn.connect()
        try:
            for name in self._names:
                for delete in ("queue_delete", "exchange_delete"):
                    channel = conn.channel()
                    try:
                        getattr(channel, delete)(name)
                        channel.close()
                    except amqp.exceptions.ChannelError:
                        pass  # never declared (older RabbitMQs answer 404)
        finally:
            conn.close()
