"""What ``--broker`` selects, and the per-test broker of each backend.

``inproc``: a fresh in-process fakebroker on a virtual clock.  ``tcp``: a
fresh fakebroker served on a TCP port (port 0), on a virtual clock too, so
the same tests run (a marker's ``clock="system"`` gives it a system clock).
``amqp://...``: a real RabbitMQ, a fresh vhost per test through its
management API (:mod:`._rabbit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._urls import parse_amqp_url
from ._management import ManagementAPI, ManagementError, management_url_for
from ._rabbit import RabbitMQHandle, sweep
from ._setup import BrokerSpec, make_inproc, make_tcp

__all__ = ["BACKENDS", "Backend", "EmulatorOnlySpec", "parse_backend"]

BACKENDS = ("inproc", "tcp")


class EmulatorOnlySpec(Exception):
    """The marker asks for something only fakebroker has; the message is the skip reason."""


@dataclass(frozen=True)
class Backend:
    """The session's choice: ``kind`` is inproc, tcp, amqp (then ``url`` and ``management``)
    or redis (``url``: the ``--broker`` value)."""

    kind: str
    url: str = ""
    management_url: str = ""

    @property
    def real(self) -> bool:
        """Whether the backend is a real RabbitMQ."""
        return self.kind == "amqp"

    def management(self) -> ManagementAPI:
        """The management API's client (credentials from the URL unless it names its own)."""
        parts = parse_amqp_url(self.url)
        return ManagementAPI(
            url=self.management_url, user=parts["user"], password=parts["password"]
        )

    def open(self, spec: BrokerSpec, *, api: ManagementAPI | None, test_id: str) -> Any:
        """A fresh broker for one test, as ``spec`` asks."""
        if self.kind in ("inproc", "redis"):  # with a Redis choice, broker stays in-process
            return make_inproc(spec)
        if self.kind == "tcp":
            return make_tcp(spec)
        assert api is not None
        check_real(spec, url=self.url)
        handle = RabbitMQHandle(url=self.url, management=api, test_id=test_id)
        try:
            if spec.definitions is not None:
                apply_definitions(api, handle.vhost, spec.definitions)
        except Exception:
            handle.close()
            raise
        return handle


def parse_backend(choice: str, management: str | None) -> Backend:
    """The ``--broker`` and ``--broker-management`` options (ValueError if bad)."""
    from ._redis import is_redis_choice

    if choice in BACKENDS:
        return Backend(kind=choice)
    if is_redis_choice(choice):  # the Redis flavour: redis_broker follows it (docs/redis.md)
        return Backend(kind="redis", url=choice)
    if not choice.startswith(("amqp://", "amqps://")):
        raise ValueError(
            "--broker must be inproc, tcp or an amqp:// URL "
            f"(or redis-inproc, redis-tcp, redis://HOST:PORT/DB), not {choice!r}"
        )
    return Backend(kind="amqp", url=choice, management_url=management or management_url_for(choice))


def start_session(backend: Backend) -> ManagementAPI | ManagementError | None:
    """On RabbitMQ: the management API, checked, with stale test vhosts swept (or the error)."""
    if not backend.real:
        return None
    api = backend.management()
    try:
        api.check()
        sweep(api)
    except ManagementError as error:
        return error
    return api


def check_real(spec: BrokerSpec, *, url: str) -> None:
    """Raise :class:`EmulatorOnlySpec` for marker options a real RabbitMQ cannot honour."""
    if spec.faults is not None:
        raise EmulatorOnlySpec(f"@pytest.mark.broker(faults=...) needs fakebroker, not {url}")
    if spec.clock == "virtual":
        raise EmulatorOnlySpec(f"@pytest.mark.broker(clock='virtual') needs fakebroker, not {url}")
    if spec.users:
        raise EmulatorOnlySpec(
            f"@pytest.mark.broker(users=...) needs fakebroker: users are node-wide on {url}"
        )


def apply_definitions(api: ManagementAPI, vhost: str, definitions: dict[str, Any]) -> None:
    """Declare the definitions' exchanges, queues and bindings (of any vhost) in ``vhost``."""
    for x in definitions.get("exchanges") or []:
        api.declare_exchange(
            vhost,
            x["name"],
            type=x.get("type", "direct"),
            durable=x.get("durable", True),
            auto_delete=x.get("auto_delete", False),
            internal=x.get("internal", False),
            arguments=x.get("arguments") or {},
        )
    for q in definitions.get("queues") or []:
        api.declare_queue(
            vhost,
            q["name"],
            durable=q.get("durable", True),
            auto_delete=q.get("auto_delete", False),
            arguments=q.get("arguments") or {},
        )
    for b in definitions.get("bindings") or []:
        api.bind(
            vhost,
            b["source"],
            b["destination"],
            destination_type=b.get("destination_type", "queue"),
            routing_key=b.get("routing_key", ""),
            arguments=b.get("arguments") or {},
        )
