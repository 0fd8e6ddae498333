"""The recorded RabbitMQ traces: present for every scenario, from the compared version.

The replay itself runs inside each scenario: on the inproc and tcp backends the
scenario's trace must equal the one recorded from RabbitMQ (see conftest.py).
"""

from __future__ import annotations

import json

import pytest

from ._harness import RABBITMQ_VERSION
from .conftest import TRACES, trace_file, trace_key


def test_traces_are_from_the_compared_version() -> None:
    """every trace file names the RabbitMQ version the docs compare with."""
    files = sorted(TRACES.glob("*.json"))
    assert files, "no traces recorded: run pytest tests/conformance --record"
    for path in files:
        assert json.loads(path.read_text())["rabbitmq_version"] == RABBITMQ_VERSION, path.name


def test_every_scenario_has_a_trace(request: pytest.FixtureRequest) -> None:
    """each collected scenario (but the known divergences) has a recorded RabbitMQ trace."""
    missing = []
    for item in request.session.items:
        if "b" not in getattr(item, "fixturenames", ()) or "[inproc" not in item.name:
            continue
        if item.get_closest_marker("divergence") is not None:
            continue
        scenarios = (
            json.loads(trace_file(item).read_text())["scenarios"]
            if trace_file(item).exists()
            else {}
        )
        if trace_key(item) not in scenarios:
            missing.append(f"{trace_file(item).name}::{trace_key(item)}")
    assert not missing, f"re-record (pytest tests/conformance --record): {missing}"
