"""A configuration module for ``config_from_object`` tests."""

from __future__ import annotations

import os  # noqa: F401 - modules are not settings

from kombu import Queue  # noqa: F401 - classes are not settings

MAX_THINGS = 3  # upper-case names are not settings
broker_url = "memory://"
task_default_queue = "from-module"
task_routes = {"reports.*": {"queue": "reports"}}
