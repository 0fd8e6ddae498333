"""The journal knows when it lost entries: truncation and switching it off leave a gap."""

from __future__ import annotations

from fakebroker.core import Journal


def _journal(maxlen: int | None = 3) -> Journal:
    now = iter(range(1000))
    return Journal(clock=lambda: float(next(now)), maxlen=maxlen)


def test_complete_until_the_first_entry_is_dropped() -> None:
    journal = _journal(maxlen=3)
    for _ in range(3):
        journal.record("published", "/")
    assert journal.complete_since(0)
    journal.record("published", "/")  # entry 1 goes
    assert not journal.complete_since(0)
    assert journal.complete_since(1)
    assert [e.seq for e in journal] == [2, 3, 4]


def test_switching_it_off_is_a_gap_even_when_nothing_was_recorded() -> None:
    journal = _journal(maxlen=None)
    journal.record("published", "/")
    seen = journal.last_seq
    journal.enabled = False
    assert not journal.complete_since(seen)
    journal.enabled = True
    assert not journal.complete_since(seen)  # what happened while off is unknown
    journal.record("published", "/")
    assert journal.complete_since(journal.last_seq)


def test_clear_forgets_what_came_before() -> None:
    journal = _journal(maxlen=None)
    journal.record("published", "/")
    journal.clear()
    assert not journal.complete_since(0)
    assert journal.complete_since(journal.last_seq)


def test_bodies_only_the_journal_holds_are_bounded_in_bytes() -> None:
    """20 x 10 MiB published, acked and their queue deleted: the journal keeps at most max_bytes."""
    from fakebroker.core import Broker

    broker = Broker(journal_max_bytes=32 * 1024 * 1024)
    channel = broker.connect().open_channel(1)
    channel.queue_declare("big")
    start = broker.journal.last_seq
    for _ in range(20):
        channel.basic_publish("", "big", b"\0" * (10 * 1024 * 1024))
        got = channel.basic_get("big")
        assert got is not None
        channel.basic_ack(got.delivery_tag)
    channel.queue_delete("big")
    journal = broker.journal
    assert journal.bytes <= 32 * 1024 * 1024
    assert len({id(e.message) for e in journal if e.message is not None}) <= 3
    assert not journal.complete_since(start)  # assertions over the dropped part fail loudly
    assert list(journal)[-1].kind == "acked"  # the newest entries are kept


def test_a_body_counts_once_however_many_entries_name_it() -> None:
    from fakebroker.core import Broker

    broker = Broker(journal_max_bytes=1000)
    channel = broker.connect().open_channel(1)
    channel.queue_declare("q")
    channel.basic_publish("", "q", b"x" * 600)  # published, routed: one body, 600 bytes
    assert broker.journal.bytes == 600
    assert broker.journal.complete_since(0)
    channel.basic_publish("", "q", b"y" * 600)  # 1200 > 1000: the first message's entries go
    assert broker.journal.bytes == 600
    assert [e.message.body[:1] for e in broker.journal if e.message] == [b"y", b"y"]


def test_without_a_byte_bound_nothing_is_dropped_for_size() -> None:
    from fakebroker.core import Broker

    broker = Broker(journal_max_bytes=None)
    channel = broker.connect().open_channel(1)
    channel.queue_declare("q")
    for _ in range(5):
        channel.basic_publish("", "q", b"z" * 100_000)
    assert broker.journal.bytes == 500_000 and broker.journal.complete_since(0)
