from __future__ import annotations

import pytest

from fakebroker.core import SystemClock, VirtualClock


def test_virtual_clock_runs_timers_in_deadline_order() -> None:
    clock = VirtualClock(start=100.0)
    seen: list[tuple[str, float]] = []
    clock.call_at(105.0, lambda: seen.append(("b", clock.now())))
    clock.call_at(102.0, lambda: seen.append(("a", clock.now())))
    clock.call_at(105.0, lambda: seen.append(("c", clock.now())))
    assert clock.advance(4) == 1
    assert seen == [("a", 102.0)]
    assert clock.now() == 104.0
    clock.advance(1)
    assert seen == [("a", 102.0), ("b", 105.0), ("c", 105.0)]


def test_cancelled_timer_never_runs() -> None:
    clock = VirtualClock()
    ran: list[int] = []
    timer = clock.call_later(1, lambda: ran.append(1))
    timer.cancel()
    clock.advance(10)
    assert ran == []
    assert clock.next_deadline() is None


def test_timer_scheduled_by_timer_runs_in_same_advance() -> None:
    clock = VirtualClock(start=0.0)
    ran: list[float] = []
    clock.call_later(1, lambda: clock.call_later(1, lambda: ran.append(clock.now())))
    clock.advance(5)
    assert ran == [2.0]


def test_jump_moves_to_next_deadline() -> None:
    clock = VirtualClock(start=0.0)
    ran: list[float] = []
    clock.call_at(7.5, lambda: ran.append(clock.now()))
    assert clock.jump() is True
    assert ran == [7.5] and clock.now() == 7.5
    assert clock.jump() is False


def test_clock_cannot_go_backwards() -> None:
    with pytest.raises(ValueError):
        VirtualClock().advance(-1)


def test_system_clock_runs_due_timers() -> None:
    clock = SystemClock()
    ran: list[int] = []
    clock.call_at(clock.now() - 1, lambda: ran.append(1))
    clock.call_at(clock.now() + 3600, lambda: ran.append(2))
    assert clock.run_due() == 1
    assert ran == [1]
    assert clock.next_deadline() is not None
