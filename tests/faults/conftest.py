"""Every fault test runs on both fronts: in-process and TCP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._front import FRONTS, Front, open_front


@pytest.fixture(params=FRONTS)
def front(request: pytest.FixtureRequest) -> Iterator[Front]:
    with open_front(request.param) as f:
        yield f
