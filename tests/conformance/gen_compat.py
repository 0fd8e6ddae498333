"""Write docs/compatibility.md from the conformance scenarios and the recorded RabbitMQ traces.

    python tests/conformance/gen_compat.py            # rewrite docs/compatibility.md
    python tests/conformance/gen_compat.py --check    # exit 1 if it is out of date

It collects tests/conformance (no broker is contacted), groups the scenarios by module
and test function, and reads fixtures/conformance/traces/ for what RabbitMQ answered.
A scenario is "same as RabbitMQ" when RabbitMQ's trace is recorded and fakebroker is not
marked divergent (the suite then asserts fakebroker's own trace equals it); "differs"
when it carries ``@pytest.mark.divergence(reason)``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DOC = ROOT / "docs" / "compatibility.md"
TRACES = ROOT / "fixtures" / "conformance" / "traces"
RECORD = "pytest tests/conformance -n 2 --record -p no:randomly"

#: What fakebroker does not model at all (no scenario can pass on it).
NOT_SUPPORTED = [
    ("Stream queues (`x-queue-type: stream`)", "refused with 406 unsupported queue type"),
    ("Plugin exchange types (x-consistent-hash, x-delayed-message, ...)", "503 unknown exchange type, as a RabbitMQ without the plugin"),
    ("Classic queue mirroring / HA policies, federation, shovel", "single node only"),
    ("AMQP 1.0, MQTT, STOMP", "AMQP 0-9-1, and 0-8 as RabbitMQ speaks it; an AMQP 1.0 header gets `AMQP 0 0 9 1` back"),
]  # fmt: skip


#: Divergences the suite found in fakebroker and that were fixed (scenario: what changed).
FIXED = [
    ("test_check_order::test_queue_delete_flags", "queue.delete with if-unused and if-empty on a queue with a consumer and a ready message answered 'in use'; RabbitMQ checks 'not empty' (ready messages) first"),
    ("test_check_order::test_two_failures", "with two faults at once: the type of exchange.declare before the default exchange (503, not 403); the amq. prefix before the queue is looked up (a server-named queue redeclared by name is 403); queue.bind's arguments before the queue's exclusivity; queue.unbind of a binding that exists on another connection's exclusive queue is 405 (it was removed); a missing fast reply-to consumer before a bad expiration"),
    ("test_check_order::test_new_queue_arguments", "a new queue's arguments are checked in RabbitMQ's order (the dead-letter exchange's type, x-queue-type, the values in RabbitMQ's order, then what the type does not take in the table's order); each type refuses the arguments it does not take (x-max-in-memory-length on a classic queue, x-initial-cluster-size on a quorum one ...), quorum checks x-dead-letter-strategy, x-quorum-initial-group-size and x-queue-leader-locator, and does not check x-delivery-limit"),
    ("test_check_order::test_queue_redeclare_compares_by_type", "a redeclare compares the arguments the queue's type takes, in that type's order (x-queue-master-locator for classic, x-dead-letter-strategy and x-queue-leader-locator for quorum; a quorum queue compares the dead-letter exchange before x-expires)"),
    ("test_declare::test_missing_entities", "queue.bind / exchange.bind name the missing exchange (the source) before the queue (the destination)"),
    ("test_declare::test_exchange_ae_wrong_type", "a non-string alternate-exchange is refused with 406"),
    ("test_declare::test_queue_argument_validation", "x-message-ttl / x-expires above ten years: value_too_large; x-queue-mode checked"),
    ("test_delivery::test_single_active_consumer_failover_with_unacked", "a closing channel requeues its unacked messages before the queue feeds its other consumers"),
    ("test_lifecycle::test_expiration_property_invalid", "basic.publish with an invalid expiration: 406 with RabbitMQ's texts"),
    ("test_lifecycle::test_a_message_that_waited_expires_at_the_head", "a message with an expiration behind a head without one was never expired; it now expires when it reaches the head (after the fetch before it, so get-ok's count leaves it out) or when its timer runs"),
    ("test_lifecycle::test_a_priority_queue_expires_only_at_its_head", "a priority queue expired the head of every priority level; RabbitMQ expires only at the queue's head (the highest non-empty level), so an expired low-priority message waits, counted, behind higher ones"),
    ("test_lifecycle::test_a_zero_ttl_message_that_waited_for_a_consumer_is_not_delivered", "a message with expiration \"0\" that had to wait is no longer delivered when its turn comes in the same virtual instant (RabbitMQ's Now >= expiry)"),
]  # fmt: skip

#: Found at the frame level (tests/amqp: the fuzzer and the raw-frame differential against
#: RabbitMQ, docs/rabbitmq-facts.md section 30) and fixed.
FIXED_FRAMES = [
    ("test_fuzz", "a reply text over 255 bytes crashed the engine: now cut to 252 bytes and '...', as RabbitMQ does"),
    ("test_errors::undecodable-on-channel-0", "an undecodable method on channel 0 is 541 INTERNAL_ERROR (RabbitMQ's reader crashes), not 501"),
    ("test_frame_differential", "channel.open on a channel that is closing is 504 second 'channel.open' seen (it was ignored)"),
    ("test_frame_differential", "a client channel.close crossing the server's leaves the channel closing until the client's close-ok"),
    ("test_frame_differential", "queue.unbind from the default exchange is 403, even for a missing queue"),
    ("test_frame_differential", "exchange.unbind with the default exchange as source is 403, even when the destination is missing"),
    ("test_field_types", "field types are kept as received (byte, short, long...): error texts name them, nested tables compare with them, re-sent tables keep them"),
    ("test_content_wire", "a delivery re-sends the publisher's content header bytes unchanged (field types kept)"),
    ("test_frame_differential", "a queue declared without x-queue-type and redeclared quorum: 'received the value 'quorum' of type 'longstr' but current is none' (a missing type still compares as classic)"),
    ("test_frame_differential", "an exclusive queue is never durable (RabbitMQ drops the flag), so redeclaring it with another durable flag is declare-ok, not 406"),
    ("test_frame_differential", "a per-consumer basic.qos (global=false) also lifts the channel's global limit, as RabbitMQ's channel does (test_delivery::test_prefetch)"),
    ("test_frame_differential", "basic.consume checks x-priority (an integer) and x-cancel-on-ha-failover (a bool) with RabbitMQ's 406 texts, and a reused consumer tag is 530 even on a missing queue (test_delivery::test_consumer_arguments)"),
    ("test_frame_differential", "a message requeued when its TTL is spent (expiration \"0\" included, on a virtual clock in the same instant) expires then, dead-lettered 'expired', instead of being redelivered (test_lifecycle::test_a_message_put_back_after_its_time_is_up_expires)"),
    ("test_codec_fast", "names RabbitMQ takes but pamqp's validation refuses (over 127 characters, outside [\\w.:-]) crashed declare-ok, get-ok, deliver and return with 541; now carried as sent (test_routing::test_odd_names_route_and_come_back)"),
    ("test_amqp08", "an AMQP 0-8 header (`AMQP 1 1 8 0`, or `AMQP 1 1 9 1`) was refused; it starts a 0-8 connection as on RabbitMQ: connection.start 8-0 with no capabilities, connection.close as 10/60, a bare channel.open-ok, basic.consume without a table, 0-9-1-only methods dropping the socket, 0-8-only ones 503 unimplemented"),
    ("test_close_ok", "after the close-ok to a client's connection.close the socket was closed at once; as on RabbitMQ it is left to the client: a close gets close-ok again, close-ok resets it, anything else is ignored, and it is reset after the heartbeat (at most 30 s)"),
    ("test_malformed::publish-exchange-not-utf8", "a 404 naming an exchange that is not UTF-8 crashed the engine (541); it carries the name's raw bytes, as RabbitMQ's does"),
]  # fmt: skip

#: Differences outside the scenarios, on purpose or not yet changed.
OTHER_DIFFERENCES = [
    "basic.credit, credit-ok and credit-drained (60/200-202, RabbitMQ's internal extension for AMQP 1.0's credit) are unknown methods to fakebroker, which drops the socket; RabbitMQ decodes them (basic.credit to an unknown consumer tag is 406, credit-ok and credit-drained from a client 503 unimplemented, an undecodable one 501)",
    "`fakebroker serve` shutting down sends 320 CONNECTION_FORCED and waits up to 2 s for close-ok before it drops the sockets; RabbitMQ 3.10.8 resets the socket right after the close frame (the restart fault does as RabbitMQ does)",
    "the server's product is `fakebroker`, so over TCP kombu's `qos_semantics_matches_spec` is True and a Celery worker sends basic.qos with `global=False` (per consumer, in RabbitMQ's semantics, which fakebroker follows), where to RabbitMQ it sends `global=True` (per channel); the in-process `fakebroker://` transport answers kombu as for RabbitMQ, so Celery sends what it sends to RabbitMQ",
]  # fmt: skip


@dataclass
class Feature:
    module: str
    function: str
    doc: str
    cases: list[str] = field(default_factory=list)
    divergence: str | None = None


class _Collector:
    def __init__(self) -> None:
        self.items: list[pytest.Item] = []

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.items.extend(items)


def collect() -> tuple[list[Feature], dict[str, str]]:
    from tests.conformance.conftest import trace_key

    collector = _Collector()
    code = pytest.main(
        ["--collect-only", "-q", "-p", "no:randomly", "-p", "no:xdist", str(HERE)],
        plugins=[collector],
    )
    if code not in (0, 5):
        raise SystemExit(f"collection failed ({code})")
    features: dict[tuple[str, str], Feature] = {}
    modules: dict[str, str] = {}
    for item in collector.items:
        if "[inproc" not in item.name or not isinstance(item, pytest.Function):
            continue
        module = Path(str(item.path)).stem
        modules[module] = (item.module.__doc__ or module).strip().splitlines()[0]
        key = (module, item.originalname)
        feature = features.get(key)
        if feature is None:
            doc = (item.function.__doc__ or item.originalname).strip().splitlines()[0]
            marker = item.get_closest_marker("divergence")
            feature = features[key] = Feature(
                module, item.originalname, doc, divergence=marker.args[0] if marker else None
            )
        feature.cases.append(trace_key(item))
    return list(features.values()), modules


def load_traces() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(TRACES.glob("*.json")):
        out[path.stem] = json.loads(path.read_text())
    return out


def render(features: list[Feature], modules: dict[str, str], traces: dict[str, Any]) -> str:
    versions = sorted({t["rabbitmq_version"] for t in traces.values()}) or ["(none recorded)"]
    total = sum(len(f.cases) for f in features)
    recorded = sum(
        1 for f in features for c in f.cases if c in traces.get(f.module, {}).get("scenarios", {})
    )
    differing = [f for f in features if f.divergence]
    lines = [
        "# Compatibility with RabbitMQ",
        "",
        "<!-- generated by tests/conformance/gen_compat.py: do not edit by hand -->",
        "",
        f"Compared with **RabbitMQ {', '.join(versions)}**. {total} conformance scenarios "
        f"(tests/conformance), each run on three backends: fakebroker in-process, fakebroker "
        f"over TCP, and the real RabbitMQ. {recorded} of them have RabbitMQ's answers recorded "
        "in fixtures/conformance/traces/, and fakebroker's answers are checked against those "
        "recordings on every run, with or without a RabbitMQ. A hypothesis differential "
        "machine (tests/conformance/test_differential.py) also runs random operation "
        "sequences on both brokers side by side, and tests/amqp/test_frame_differential.py "
        "sends both the same raw frames; CI runs a fixed 30 and 60 examples of them, and "
        "`FAKEBROKER_DIFF_EXAMPLES=N` runs N fresh random ones to look for new divergences.",
        "",
        f"Re-record the traces (needs the RabbitMQ): `{RECORD}`, then "
        "`python tests/conformance/gen_compat.py`.",
        "",
        "Status: **same** = fakebroker's answers equal RabbitMQ's recorded answers; "
        "**differs** = a known, documented divergence (the scenario is xfail on fakebroker); "
        "**not recorded** = no RabbitMQ trace yet.",
        "",
    ]
    for module in sorted(modules):
        mine = [f for f in features if f.module == module]
        lines += [f"## {modules[module]}", "", "| feature | scenarios | status |", "|---|---|---|"]
        for f in mine:
            got = traces.get(module, {}).get("scenarios", {})
            n_rec = sum(1 for c in f.cases if c in got)
            if f.divergence:
                status = f"differs: {f.divergence}"
            elif n_rec == len(f.cases):
                status = "same"
            else:
                status = f"not recorded ({n_rec}/{len(f.cases)} recorded)"
            lines.append(f"| {f.doc} (`{f.function}`) | {len(f.cases)} | {status} |")
        lines.append("")
    lines += ["## Known divergences", ""]
    for f in differing:
        lines.append(f"- `{f.module}::{f.function}`: {f.divergence}.")
    lines += ["", "## Divergences found by this suite and fixed", ""]
    lines += [f"- `{name}`: {what}." for name, what in FIXED]
    lines += ["", "## Divergences found at the frame level and fixed", ""]
    lines += [f"- `{name}`: {what}." for name, what in FIXED_FRAMES]
    lines += ["", "## Other differences", ""]
    lines += [f"- {what}." for what in OTHER_DIFFERENCES]
    lines += ["", "## Not supported", "", "| feature | fakebroker |", "|---|---|"]
    lines += [f"| {name} | {what} |" for name, what in NOT_SUPPORTED]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the doc is out of date")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    features, modules = collect()
    text = render(features, modules, load_traces())
    if args.check:
        current = DOC.read_text() if DOC.exists() else ""
        if current != text:
            print(f"{DOC} is out of date: run python tests/conformance/gen_compat.py")
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC.relative_to(ROOT)}: {sum(len(f.cases) for f in features)} scenarios")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
