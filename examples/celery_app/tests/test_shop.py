"""The Celery app's tests: celery.contrib.pytest's fixtures on fakebroker."""

from __future__ import annotations

import shop


def test_a_worker_runs_the_task(celery_app, celery_worker):
    assert shop.add.delay(2, 3).get(timeout=10) == 5


def test_sign_up_sends_the_welcome_email(celery_app, celery_worker):
    shop.sign_up("ada@example.com")
    result = shop.send_welcome.delay("bob@example.com")
    assert result.get(timeout=10) == "sent to bob@example.com"
    assert "ada@example.com" in shop.SENT


def test_sign_up_enqueues_one_message_without_a_worker(broker):
    """No worker: inspect what the app put on the broker (whichever --broker selects)."""
    app = shop.make_app(broker_url=broker.url)
    app.set_current()
    try:
        shop.sign_up("ada@example.com")
    finally:
        app.close()

    [message] = broker.assert_published(routing_key="celery", headers={"task": "shop.send_welcome"})
    assert message.properties["content_type"] == "application/json"
    assert broker.queues["celery"].messages_ready == 1
    broker.assert_not_published(headers={"task": "shop.add"})
