"""Suite-wide: the plugin tests drive inner pytest runs with ``pytester``; hypothesis is
deterministic (the same examples on every run and machine, as under its CI profile) unless
``FAKEBROKER_HYPOTHESIS=random`` asks for fresh ones to look for new divergences."""

from __future__ import annotations

import os

from hypothesis import settings

pytest_plugins = ["pytester"]

settings.register_profile("fakebroker-deterministic", derandomize=True, database=None)
settings.register_profile("fakebroker-random")
settings.load_profile(
    "fakebroker-random"
    if os.environ.get("FAKEBROKER_HYPOTHESIS") == "random"
    else "fakebroker-deterministic"
)
