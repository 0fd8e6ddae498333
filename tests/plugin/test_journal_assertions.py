"""An assertion over a journal that lost entries fails loudly instead of passing wrongly."""

from __future__ import annotations

import pytest

from fakebroker import Node, build_node
from fakebroker.testing import Inspector


def _publish(node: Node, *bodies: bytes) -> None:
    with node.locked() as broker:
        conn = broker.connect()
        channel = conn.open_channel(1)
        channel.queue_declare("q")
        for body in bodies:
            channel.basic_publish("", "q", body, {})
        conn.close()


def test_assert_not_published_fails_once_the_secret_was_pushed_out() -> None:
    node = build_node(journal_maxlen=10)
    inspector = Inspector(node=node)
    _publish(node, b"secret", *[b"noise"] * 20)
    with pytest.raises(AssertionError, match="journal is incomplete"):
        inspector.assert_not_published(body=b"secret")


def test_assert_published_with_a_count_fails_on_a_truncated_journal() -> None:
    node = build_node(journal_maxlen=10)
    inspector = Inspector(node=node)
    _publish(node, *[b"same"] * 20)
    with pytest.raises(AssertionError, match="journal is incomplete"):
        inspector.assert_published(body=b"same", count=20)
    assert inspector.assert_published(body=b"same")  # what is still there is evidence


def test_a_switched_off_journal_says_so() -> None:
    node = build_node()
    node.broker.journal.enabled = False
    inspector = Inspector(node=node)
    _publish(node, b"x")
    with pytest.raises(AssertionError, match="switched off"):
        inspector.assert_not_published(body=b"x")


def test_a_complete_journal_decides_as_before() -> None:
    node = build_node(journal_maxlen=100)
    inspector = Inspector(node=node)
    _publish(node, b"a", b"b")
    inspector.assert_not_published(body=b"secret")
    assert len(inspector.assert_published(count=2)) == 2
