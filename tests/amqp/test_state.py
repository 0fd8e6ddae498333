"""The connection's state machine (fakebroker/amqp/_state.py): one table, one meaning per flag."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from fakebroker.amqp._state import (
    CHANNEL_TRANSITIONS,
    HANDSHAKE_STATES,
    TRANSITIONS,
    BadTransition,
    ChannelEvent,
    ChannelState,
    Machine,
    State,
    Transition,
    move_channel,
)
from fakebroker.amqp._wire import Frame


def _reachable(table: Mapping[tuple[Any, Any], Any], start: Any) -> set[Any]:
    """Every state a transition table reaches from ``start``."""
    seen, frontier = {start}, [start]
    while frontier:
        state = frontier.pop()
        for (source, _), target in table.items():
            if source is state and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def test_every_state_is_reachable_from_header_and_every_one_ends() -> None:
    assert _reachable(TRANSITIONS, State.HEADER) == set(State)
    for state in State:
        if state is not State.CLOSED:
            assert TRANSITIONS[state, Transition.ENDED] is State.CLOSED


def test_every_channel_state_is_reachable_from_open_and_gone_is_the_end() -> None:
    assert _reachable(CHANNEL_TRANSITIONS, ChannelState.OPEN) == set(ChannelState)
    assert not any(source is ChannelState.GONE for source, _ in CHANNEL_TRANSITIONS)
    with pytest.raises(BadTransition, match="channel input_read in state server_closed"):
        move_channel(ChannelState.SERVER_CLOSED, ChannelEvent.INPUT_READ)
    with pytest.raises(BadTransition):
        move_channel(ChannelState.CLIENT_CLOSED, ChannelEvent.CLIENT_CLOSE)


def test_the_handshake_moves_in_order_and_nothing_else_moves() -> None:
    machine = Machine()
    for step, state in [
        (Transition.HEADER_OK, State.START),
        (Transition.START_OK, State.TUNE),
        (Transition.TUNE_OK, State.OPEN),
        (Transition.OPEN_OK, State.RUNNING),
    ]:
        assert machine.move(step) is state
    assert machine.running and not machine.in_handshake
    with pytest.raises(BadTransition, match="open_ok in state running"):
        machine.move(Transition.OPEN_OK)
    with pytest.raises(BadTransition):
        machine.move(Transition.FAILED_SILENTLY)  # only before connection.open-ok
    assert machine.move(Transition.CLOSE_SENT) is State.CLOSING and machine.winding_down
    assert machine.end() and machine.closed and not machine.end()


@pytest.mark.parametrize("state", sorted(HANDSHAKE_STATES, key=lambda s: s.value))
def test_a_silent_failure_is_only_possible_in_the_handshake(state: State) -> None:
    machine = Machine(state=state)
    assert machine.move(Transition.FAILED_SILENTLY) is State.DYING
    assert not machine.reads and not machine.takes_bytes


def test_a_stall_and_an_alarm_hold_frames_apart() -> None:
    machine = Machine(state=State.RUNNING)
    publish = Frame(1, 1, b"\x00\x3c\x00\x28")
    other = Frame(1, 2, b"\x00\x32\x00\x0a")
    assert machine.hold_for_alarm(publish)  # connection.blocked to send
    assert not machine.hold_for_alarm(publish)  # once
    machine.stall(other)
    assert not machine.reads and not machine.writes
    assert machine.unstall() and machine.reads and machine.writes
    assert machine.next_held() is other  # the stall's frame first
    assert machine.alarm_holds and machine.next_held() is publish
    assert machine.next_held() is None
    assert machine.unblock() and not machine.unblock()


def test_a_broken_reader_stops_input_but_not_output() -> None:
    machine = Machine(state=State.RUNNING)
    machine.break_input()
    assert not machine.takes_bytes and not machine.reads and machine.writes
    assert not machine.unstall()  # no stall to end
