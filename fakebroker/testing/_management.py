"""A small client of RabbitMQ's management HTTP API (stdlib ``http.client`` only).

It uses only the paths RabbitMQ documents (``/api/overview``, ``/api/vhosts``,
``/api/permissions``, ``/api/queues``, ``/api/exchanges``, ``/api/bindings``,
``/api/consumers``, ``/api/vhosts/{v}/connections`` and
``/api/queues/{v}/{q}/get``), so it drives a real RabbitMQ and any server
that speaks the same API.

Statistics (a queue's message counts, consumers) are refreshed by RabbitMQ
every ``collect_statistics_interval`` (5 s by default): what the API says
about counts may be that late.  Names, arguments and bindings are current.
"""

from __future__ import annotations

import base64
import http.client
import json
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = ["ManagementAPI", "ManagementError", "management_url_for"]

MANAGEMENT_PORT = 15672
TIMEOUT = 10.0
ENABLE_HINT = (
    "enable RabbitMQ's management plugin (rabbitmq-plugins enable rabbitmq_management) "
    "or name its URL with --broker-management=http://USER:PASS@HOST:PORT"
)


class ManagementError(Exception):
    """The management API is unreachable or refused a call (``status`` 0: no answer)."""

    def __init__(self, text: str, *, status: int = 0) -> None:
        super().__init__(text)
        self.status = status


def management_url_for(amqp_url: str) -> str:
    """The default management URL of an ``amqp://`` URL: same host and credentials, port 15672."""
    parts = urlsplit(amqp_url)
    credentials = ""
    if parts.username is not None:
        credentials = f"{parts.username}:{parts.password or ''}@"
    host = parts.hostname or "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"http://{credentials}{host}:{MANAGEMENT_PORT}"


def _q(name: str) -> str:
    return quote(name, safe="")


class ManagementAPI:
    """RabbitMQ's management API at ``url`` (``http://USER:PASS@HOST:PORT``)."""

    def __init__(self, *, url: str, user: str = "guest", password: str = "guest") -> None:
        parts = urlsplit(url)
        self.url = f"http://{parts.hostname or '127.0.0.1'}:{parts.port or MANAGEMENT_PORT}"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or MANAGEMENT_PORT
        self.user = parts.username or user
        password = parts.password if parts.password is not None else password
        token = base64.b64encode(f"{self.user}:{password}".encode()).decode()
        self._auth = f"Basic {token}"

    def __repr__(self) -> str:
        return f"<ManagementAPI {self.url}>"

    # -- the node ------------------------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        """``/api/overview``, or a :class:`ManagementError` that says what to enable."""
        try:
            overview: dict[str, Any] = self.call("GET", "/api/overview")
        except ManagementError as error:
            raise ManagementError(
                f"RabbitMQ's management API does not answer at {self.url} ({error}): {ENABLE_HINT}",
                status=error.status,
            ) from error
        return overview

    # -- vhosts and permissions ---------------------------------------------------------------

    def vhosts(self) -> list[dict[str, Any]]:
        """Every vhost."""
        found: list[dict[str, Any]] = self.call("GET", "/api/vhosts")
        return found

    def create_vhost(self, name: str, *, tracing: bool = False) -> None:
        """Create vhost ``name`` (its firehose on with ``tracing``)."""
        self.call("PUT", f"/api/vhosts/{_q(name)}", {"tracing": tracing})

    def delete_vhost(self, name: str) -> None:
        """Delete vhost ``name`` and everything in it (a missing one is no error)."""
        try:
            self.call("DELETE", f"/api/vhosts/{_q(name)}")
        except ManagementError as error:
            if error.status != 404:
                raise

    def grant(
        self, vhost: str, user: str, *, configure: str = ".*", write: str = ".*", read: str = ".*"
    ) -> None:
        """Give ``user`` these permissions on ``vhost``."""
        body = {"configure": configure, "write": write, "read": read}
        self.call("PUT", f"/api/permissions/{_q(vhost)}/{_q(user)}", body)

    # -- the objects of a vhost ---------------------------------------------------------------

    def queues(self, vhost: str) -> list[dict[str, Any]]:
        """The vhost's queues (counts as of the last statistics refresh)."""
        found: list[dict[str, Any]] = self.call("GET", f"/api/queues/{_q(vhost)}")
        return found

    def queue(self, vhost: str, name: str) -> dict[str, Any]:
        """One queue (a :class:`ManagementError` with status 404 if there is none)."""
        found: dict[str, Any] = self.call("GET", f"/api/queues/{_q(vhost)}/{_q(name)}")
        return found

    def declare_queue(self, vhost: str, name: str, **properties: Any) -> None:
        """Declare a queue (``durable``, ``auto_delete``, ``arguments``)."""
        self.call("PUT", f"/api/queues/{_q(vhost)}/{_q(name)}", properties)

    def exchanges(self, vhost: str) -> list[dict[str, Any]]:
        """The vhost's exchanges, the default ones included."""
        found: list[dict[str, Any]] = self.call("GET", f"/api/exchanges/{_q(vhost)}")
        return found

    def declare_exchange(self, vhost: str, name: str, **properties: Any) -> None:
        """Declare an exchange (``type``, ``durable``, ``auto_delete``, ``arguments``)."""
        self.call("PUT", f"/api/exchanges/{_q(vhost)}/{_q(name)}", properties)

    def bindings(self, vhost: str) -> list[dict[str, Any]]:
        """The vhost's bindings, the default exchange's implicit ones first."""
        found: list[dict[str, Any]] = self.call("GET", f"/api/bindings/{_q(vhost)}")
        return found

    def bind(
        self,
        vhost: str,
        source: str,
        destination: str,
        *,
        destination_type: str = "queue",
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
    ) -> None:
        """Bind ``destination`` (a queue, or an exchange with ``destination_type="exchange"``)."""
        kind = "q" if destination_type == "queue" else "e"
        body = {"routing_key": routing_key, "arguments": arguments or {}}
        path = f"/api/bindings/{_q(vhost)}/e/{_q(source)}/{kind}/{_q(destination)}"
        self.call("POST", path, body)

    def consumers(self, vhost: str) -> list[dict[str, Any]]:
        """The vhost's consumers (as of the last statistics refresh)."""
        found: list[dict[str, Any]] = self.call("GET", f"/api/consumers/{_q(vhost)}")
        return found

    def connections(self, vhost: str) -> list[dict[str, Any]]:
        """The connections open on ``vhost``."""
        found: list[dict[str, Any]] = self.call("GET", f"/api/vhosts/{_q(vhost)}/connections")
        return found

    def get_messages(self, vhost: str, queue: str, count: int) -> list[dict[str, Any]]:
        """Up to ``count`` messages of ``queue``, requeued (RabbitMQ marks them redelivered).

        Payloads come base64-encoded (``payload`` with ``payload_encoding``).
        """
        body = {"count": count, "ackmode": "ack_requeue_true", "encoding": "base64"}
        found: list[dict[str, Any]] = self.call(
            "POST", f"/api/queues/{_q(vhost)}/{_q(queue)}/get", body
        )
        return found

    # -- HTTP ---------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One request; the decoded JSON answer (None for an empty one)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": self._auth, "Content-Type": "application/json"}
        conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except OSError as error:
            raise ManagementError(f"{method} {path}: {error}") from error
        finally:
            conn.close()
        if response.status >= 400:
            text = payload.decode("utf-8", "replace")[:300]
            raise ManagementError(
                f"{method} {path}: {response.status} {response.reason}: {text}",
                status=response.status,
            )
        return json.loads(payload) if payload else None
