"""The pika app's tests.  pika speaks AMQP over a socket:

- ``broker_server`` is a fakebroker on a TCP port (one per xdist worker, a
  fresh vhost per test);
- ``broker_amqp_url`` is an amqp:// URL of the ``--broker`` backend (the
  in-process broker served on a port by default), so these tests also run
  against a real RabbitMQ;
- a test that needs the emulator is marked ``fake_only``: skipped, with its
  reason, on ``--broker=amqp://...``.
"""

from __future__ import annotations

import pika
import pytest
from events import publish_event, read_events


def test_publish_event_is_confirmed_and_persistent(broker_server):
    publish_event(broker_server.url, "audit", {"user": "ada", "action": "login"})

    [message] = broker_server.assert_published(
        routing_key="audit", body={"user": "ada", "action": "login"}
    )
    assert message.properties["delivery_mode"] == 2
    assert broker_server.queues["audit"].durable


def test_events_round_trip(broker_amqp_url, broker_backend):
    queue = broker_backend.unique("audit")
    publish_event(broker_amqp_url, queue, {"n": 1})
    publish_event(broker_amqp_url, queue, {"n": 2})
    assert read_events(broker_amqp_url, queue, limit=2) == [{"n": 1}, {"n": 2}]


@pytest.mark.fake_only(reason="adds a user, and RabbitMQ's users are node-wide")
@pytest.mark.broker(users={"auditor": "s3cret"})
def test_wrong_password_is_refused(broker_server):
    assert broker_server.url.startswith("amqp://auditor:s3cret@")
    bad = broker_server.url.replace("s3cret", "wrong")
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        publish_event(bad, "audit", {})
