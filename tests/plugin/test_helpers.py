"""The helpers a user reaches for: errors that explain, assertions on deliveries and acks."""

from __future__ import annotations

import kombu
import pytest
from amqp.exceptions import ConsumerCancelled

from fakebroker.testing._handle import BrokerHandle


def _publish(broker: BrokerHandle, *bodies: object, routing_key: str = "orders") -> None:
    with broker.connection() as conn:
        conn.SimpleQueue(routing_key).close()  # declares the queue
        producer = conn.Producer()
        for body in bodies:
            producer.publish(body, routing_key=routing_key)


def test_a_missing_queue_names_the_vhost_and_the_close_names(broker: BrokerHandle) -> None:
    _publish(broker, {"id": 1})
    with pytest.raises(KeyError, match=r"no queue 'order' in vhost '/'; did you mean 'orders'\?"):
        broker.queues["order"]
    with pytest.raises(KeyError, match=r"no queue 'nope' in vhost '/'; it has 'orders'"):
        broker.messages("nope")
    assert broker.queues["orders"].messages_ready == 1
    assert broker.queues.get("nope") is None  # a dict still


def test_a_missing_queue_in_an_empty_vhost(broker: BrokerHandle) -> None:
    with pytest.raises(KeyError, match=r"no queue 'nope' in vhost '/'; it has no queues"):
        broker.messages("nope")


def test_dead_letters_refuses_a_reason_rabbitmq_never_writes(broker: BrokerHandle) -> None:
    with pytest.raises(ValueError, match=r"'rejectd' .* \(did you mean 'rejected'\?\)"):
        broker.dead_letters(reason="rejectd")
    with pytest.raises(ValueError, match="rejected, expired, maxlen, delivery_limit"):
        broker.assert_dead_lettered(reason="timeout")
    assert broker.dead_letters(reason="expired") == []


def test_an_unknown_marker_option_gets_a_suggestion(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.broker(clok="system")
        def test_it(broker):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*unknown @pytest.mark.broker option(s) clok= (did you mean 'clock'?)*"]
    )


def test_assert_published_shows_decoded_bodies_and_the_nearest_difference(
    broker: BrokerHandle,
) -> None:
    _publish(broker, {"id": 1, "total": 10}, "plain text")
    with pytest.raises(AssertionError) as info:
        broker.assert_published(routing_key="orders", body={"id": 1, "total": 12})
    text = str(info.value)
    assert 'body={"id": 1, "total": 10}' in text
    assert "body='plain text'" in text
    assert "b'{" not in text
    assert "Nearest: exchange='' routing_key='orders' body={\"id\": 1, \"total\": 10}" in text
    assert 'body: expected {"id": 1, "total": 12}, got {"id": 1, "total": 10}' in text


def test_a_failed_assertion_hides_the_plugins_frames(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_it(broker):
            broker.assert_published(routing_key="missing")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "_assertions.py" not in output
    assert "Nothing was published." in output


def test_assert_consumed_and_acked_read_deliveries_and_acks(broker: BrokerHandle) -> None:
    _publish(broker, {"id": 1}, {"id": 2})
    with broker.connection() as conn:
        queue = conn.SimpleQueue("orders")
        queue.get(timeout=1).ack()
        queue.get(timeout=1)  # delivered, never acked
        assert len(broker.assert_consumed("orders", count=2)) == 2
        broker.assert_consumed("orders", body={"id": 2})
        broker.assert_acked("orders", body={"id": 1})
        with pytest.raises(AssertionError) as info:
            broker.assert_acked("orders", body={"id": 2})
        assert "Acked (1):" in str(info.value)
        assert 'body: expected {"id": 2}, got {"id": 1}' in str(info.value)
        queue.close()


def test_assert_consumed_fails_before_any_delivery(broker: BrokerHandle) -> None:
    _publish(broker, {"id": 1})
    with pytest.raises(AssertionError, match="Nothing was delivered"):
        broker.assert_consumed("orders")


def test_assert_dead_lettered_checks_queue_and_reason(broker: BrokerHandle) -> None:
    with broker.connection() as conn:
        channel = conn.default_channel
        channel.exchange_declare("dlx", "fanout")
        channel.queue_declare("dead")
        channel.queue_bind("dead", "dlx")
        channel.queue_declare("work", arguments={"x-dead-letter-exchange": "dlx"})
        conn.Producer().publish({"id": 3}, routing_key="work")
        message = channel.basic_get("work")
        channel.basic_reject(message.delivery_tag, requeue=False)
    (dead,) = broker.assert_dead_lettered("work", reason="rejected", body={"id": 3})
    assert dead.headers["x-death"][0]["reason"] == "rejected"
    with pytest.raises(AssertionError, match="reason: expected 'expired', got 'rejected'"):
        broker.assert_dead_lettered("work", reason="expired")


def test_a_cancelled_consumer_surfaces_from_run_until_idle(broker: BrokerHandle) -> None:
    conn = broker.connection()
    got: list[object] = []
    with conn.Consumer(kombu.Queue("jobs"), callbacks=[lambda body, m: got.append(body)]):
        with broker.amqp_connection() as other:
            other.channel().queue_delete("jobs")
        with pytest.raises(ConsumerCancelled):
            broker.run_until_idle()
    assert got == []


def test_connections_lists_the_vhosts_open_connections(broker: BrokerHandle) -> None:
    assert broker.connections == []
    with broker.connection() as conn:
        conn.default_channel  # noqa: B018 - connects
        (listed,) = broker.connections
        assert listed["user"] == "guest"
        assert listed["vhost"] == "/"
        assert listed["channels"] == 1
    assert broker.connections == []
