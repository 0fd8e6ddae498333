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
