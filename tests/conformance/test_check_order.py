"""Check order: which refusal a method gets when two of its checks would fail at once."""

from __future__ import annotations

import pytest

from ._harness import Backend, E, fill

PF = "PRECONDITION_FAILED - "

# --- queue.delete if-unused / if-empty ----------------------------------------------------

#: What the queue holds when it is deleted: nothing, a ready message (with the consumer, a
#: prefetch-1 consumer holds a first one unacked and a second waits ready), or only a
#: message fetched unacked by basic.get on another channel.
HOLDS = ("empty", "ready", "unacked")


FLAGS = {
    "plain": (False, False),
    "if_unused": (True, False),
    "if_empty": (False, True),
    "both": (True, True),
}


@pytest.mark.parametrize("flags", list(FLAGS))
@pytest.mark.parametrize("holds", HOLDS)
@pytest.mark.parametrize("consumer", [False, True], ids=["idle", "consumed"])
def test_queue_delete_flags(b: Backend, consumer: bool, holds: str, flags: str) -> None:
    """queue.delete with if-unused, if-empty, both or neither: 'not empty' is checked first."""
    if_unused, if_empty = FLAGS[flags]
    ch = b.channel()
    q = b.name("q")
    ch.queue_declare(q, auto_delete=False)
    if consumer:
        cch = b.channel(ch.connection)
        cch.basic_qos(0, 1, False)
        b.consume(cch, q, "c")
    if holds == "ready":
        fill(b, ch, q, ["m1", "m2"] if consumer else ["m1"])
        if consumer:
            assert b.wait(lambda: len(b.deliveries("c")) == 1)
    elif holds == "unacked":
        fill(b, ch, q, ["m1"])
        if consumer:
            assert b.wait(lambda: len(b.deliveries("c")) == 1)
        else:
            assert b.channel(ch.connection).basic_get(q, no_ack=False) is not None
    ready = 1 if holds == "ready" else 0
    got = b.error(ch.queue_delete, q, if_unused=if_unused, if_empty=if_empty)
    if if_empty and ready:
        want = E(406, PF + f"queue '{q}' in vhost '/' not empty", (50, 40))
    elif if_unused and consumer:
        want = E(406, PF + f"queue '{q}' in vhost '/' in use", (50, 40))
    else:
        want = {"ok": ready}
    b.expect("reply", got, want)
    other = b.channel()
    left = b.error(other.queue_declare, q, passive=True)
    b.expect(
        "left",
        left,
        {"ok": [q, ready, int(consumer)]}
        if "code" in want
        else E(404, f"NOT_FOUND - no queue '{q}' in vhost '/'", (50, 10)),
    )
