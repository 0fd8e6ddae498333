"""Conformance fixtures: the ``b`` backend fixture over inproc / tcp / rabbitmq, and traces.

Options (give the path ``tests/conformance`` on the command line so pytest sees them;
the environment variables work from anywhere):

``--rabbitmq-url URL`` / ``FAKEBROKER_RABBITMQ_URL``
    the real RabbitMQ (default ``amqp://guest:guest@127.0.0.1:5672//``); its
    scenarios are skipped when it is unreachable.
``--record`` / ``FAKEBROKER_RECORD=1``
    store what RabbitMQ answered in each scenario under fixtures/conformance/traces/.
    Re-record everything with::

        pytest tests/conformance -n 2 --record -p no:randomly

Without ``--record``, the fakebroker backends compare each scenario's trace with the
recorded RabbitMQ trace (when there is one): the replay check.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("tests.conformance._harness")

from ._harness import BACKENDS, RABBITMQ_VERSION, Backend, rabbitmq_url, reachable  # noqa: E402

TRACES = Path(__file__).resolve().parents[2] / "fixtures" / "conformance" / "traces"
_KINDS = "(?:inproc|tcp|rabbitmq)"
_BACKEND_PATTERNS = (
    (re.compile(rf"\[{_KINDS}\]$"), ""),
    (re.compile(rf"\[{_KINDS}-"), "["),
    (re.compile(rf"-{_KINDS}(?=[-\]])"), ""),
)
_reachable: dict[str, bool] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance")
    group.addoption("--rabbitmq-url", default=None, help="the real RabbitMQ to compare with")
    group.addoption(
        "--record",
        action="store_true",
        default=False,
        help="record RabbitMQ's answers under fixtures/conformance/traces/",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "divergence(reason): fakebroker knowingly differs from RabbitMQ here "
        "(the scenario is xfail on the fakebroker backends)",
    )


def _option(config: pytest.Config, name: str) -> Any:
    try:
        return config.getoption(name)
    except ValueError:
        return None


def _url(config: pytest.Config) -> str:
    return rabbitmq_url(_option(config, "--rabbitmq-url"))


def recording(config: pytest.Config) -> bool:
    return bool(_option(config, "--record")) or os.environ.get("FAKEBROKER_RECORD") == "1"


def trace_key(item: pytest.Item) -> str:
    """The scenario's name without its backend: ``test_x[case]``."""
    name = item.name
    for pattern, repl in _BACKEND_PATTERNS:
        key, n = pattern.subn(repl, name, count=1)
        if n:
            return key
    return name


def trace_file(item: pytest.Item) -> Path:
    return TRACES / f"{Path(str(item.path)).stem}.json"


def load_traces(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.fixture(params=BACKENDS)
def b(request: pytest.FixtureRequest) -> Iterator[Backend]:
    kind = request.param
    marker = request.node.get_closest_marker("divergence")
    if marker is not None and kind != "rabbitmq":
        request.node.add_marker(pytest.mark.xfail(reason=marker.args[0], strict=True))
    if kind == "rabbitmq":
        url = _url(request.config)
        if url not in _reachable:
            _reachable[url] = reachable(url)
        if not _reachable[url]:
            pytest.skip(f"RabbitMQ is not reachable at {url} (set --rabbitmq-url)")
        backend = Backend("rabbitmq", url=url)
    else:
        backend = Backend(kind)
    request.node.conformance_backend = backend
    try:
        yield backend
    finally:
        backend.close()


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, Any, Any]:
    result = yield
    backend: Backend | None = getattr(pyfuncitem, "conformance_backend", None)
    if backend is None:
        return result
    path, key = trace_file(pyfuncitem), trace_key(pyfuncitem)
    if backend.kind == "rabbitmq":
        if recording(pyfuncitem.config):
            _store(path, key, backend.trace, backend.server_version)
    elif pyfuncitem.get_closest_marker("divergence") is None:
        recorded = load_traces(path).get("scenarios", {}).get(key)
        if recorded is not None and not recording(pyfuncitem.config):
            assert backend.trace == recorded, (
                f"fakebroker's trace differs from RabbitMQ {RABBITMQ_VERSION}'s "
                f"recorded in {path.name} [{key}]"
            )
    return result


def _store(path: Path, key: str, trace: dict[str, Any], version: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = Path(tempfile.gettempdir()) / f"fakebroker-trace-{path.stem}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = load_traces(path) or {"rabbitmq_version": version, "scenarios": {}}
        data["rabbitmq_version"] = version
        data["scenarios"][key] = trace
        data["scenarios"] = dict(sorted(data["scenarios"].items()))
        path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
