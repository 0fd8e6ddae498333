"""docs/pytest.md documents every fixture, the option and the marker's options."""

from __future__ import annotations

from pathlib import Path

import fakebroker.testing as testing
import fakebroker.testing.plugin as plugin

DOC = (Path(__file__).resolve().parents[2] / "docs" / "pytest.md").read_text()


def test_every_fixture_is_documented() -> None:
    missing = [name for name in plugin.__all__ if f"`{name}`" not in DOC]
    assert missing == []


def test_the_option_and_the_marker_options_are_documented() -> None:
    for word in ("--broker=tcp", "--broker=amqp://", "@pytest.mark.broker("):
        assert word in DOC
    for option in ("definitions", "vhost", "users", "clock", "faults"):
        assert f"- `{option}`" in DOC


def test_the_public_testing_module_is_documented() -> None:
    assert all(f"`{name}`" in DOC for name in testing.__all__)


def test_the_journal_kinds_the_core_records_are_documented() -> None:
    from fakebroker.core.journal import KINDS

    recorded = KINDS - {"confirmed"}  # in the table of kinds, never written by the core
    assert [kind for kind in sorted(recorded) if f"`{kind}`" not in DOC] == []
    for helper in ("assert_consumed", "assert_acked", "assert_dead_lettered"):
        assert f"`broker.{helper}(" in DOC
