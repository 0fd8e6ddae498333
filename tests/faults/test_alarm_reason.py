"""connection.blocked names the resources in alarm, as RabbitMQ 3.10.8 words it.

Probed on the real server (docs/rabbitmq-facts.md, section 29): a disk alarm
(``rabbitmqctl set_disk_free_limit 1000GB``) gives ``low on disk``; with the
memory alarm too (``set_vm_memory_high_watermark 0``), ``low on disk &
memory``. Raising both on the real server takes seconds and disturbs it, so
this runs on the engine only (py-amqp does not pass the reason on); the
memory alarm's behaviour is compared with the real server in
test_alarm_facts.py.
"""

from __future__ import annotations

import pytest
from pamqp import commands as C

from tests.amqp._client import PROTOCOL_HEADER, RawClient, method_frame


def _blocked_reasons(client: RawClient) -> list[str]:
    frames = client.send(
        method_frame(1, C.Basic.Publish(exchange="", routing_key="nowhere")),
    )
    return [v.reason for _, v in frames if isinstance(v, C.Connection.Blocked)]


@pytest.mark.parametrize(
    ("alarms", "reason"),
    [
        (["memory"], "low on memory"),
        (["disk"], "low on disk"),
        (["memory", "disk"], "low on disk & memory"),
    ],
)
def test_blocked_reason_names_every_resource_in_alarm(alarms: list[str], reason: str) -> None:
    client = RawClient()
    client.send(PROTOCOL_HEADER)
    start_ok = C.Connection.StartOk(
        {"capabilities": {"connection.blocked": True}}, "PLAIN", "\0guest\0guest", "en_US"
    )
    client.send(method_frame(0, start_ok))
    client.send(
        method_frame(0, C.Connection.TuneOk(2047, 131072, 0)),
        method_frame(0, C.Connection.Open(virtual_host="/")),
        method_frame(1, C.Channel.Open()),
    )
    for resource in alarms:
        client.broker.raise_alarm(resource)
    assert _blocked_reasons(client) == [reason]
