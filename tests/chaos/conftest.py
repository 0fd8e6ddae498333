"""Chaos tests run on both fronts (in-process fakebroker:// and TCP) unless they say otherwise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults._front import FRONTS, Front, open_front


@pytest.fixture(params=FRONTS)
def front(request: pytest.FixtureRequest) -> Iterator[Front]:
    with open_front(request.param) as f:
        yield f


@pytest.fixture
def tcp_front() -> Iterator[Front]:
    with open_front("tcp") as f:
        yield f
