"""Sending tasks and getting results through each broker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kombu.connection
import pytest

from taskpost import App, TimeoutError, signals, states
from taskpost.testing import app_context, worker_context

TIMEOUT = 10.0


class Boom(ValueError):
    """An exception a task raises."""


def register(app: App) -> dict[str, Any]:
    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="tests.fail")
    def fail(msg: str) -> None:
        raise Boom(msg)

    @app.task(name="tests.echo")
    def echo(*args: Any, **kwargs: Any) -> list[Any]:
        return [list(args), kwargs]

    @app.task(name="tests.quiet", ignore_result=True)
    def quiet() -> int:
        return 1

    return {"add": add, "fail": fail, "echo": echo, "quiet": quiet}


def test_delay_get(app: App) -> None:
    tasks = register(app)
    result = tasks["add"].delay(2, 2)
    assert result.state == states.PENDING and not result.ready()
    assert app.Worker().run_until_idle() is None
    assert result.get(timeout=TIMEOUT) == 4
    assert result.ready() and result.successful() and result.state == states.SUCCESS
    assert result.result == 4 and result.traceback is None and result.date_done


def test_apply_async_args_kwargs_and_send_task(app: App) -> None:
    register(app)
    by_task = app.tasks["tests.echo"].apply_async([1, "a"], {"k": [1, 2]}, priority=3)
    by_name = app.send_task("tests.echo", args=(2,), kwargs={"z": None})
    app.Worker().run_until_idle()
    assert by_task.get(timeout=TIMEOUT) == [[1, "a"], {"k": [1, 2]}]
    assert by_name.get(timeout=TIMEOUT) == [[2], {"z": None}]


def test_failure_propagates_with_traceback(app: App) -> None:
    tasks = register(app)
    result = tasks["fail"].delay("bad input")
    app.Worker().run_until_idle()
    with pytest.raises(Boom, match="bad input"):
        result.get(timeout=TIMEOUT)
    assert result.state == states.FAILURE and result.failed()
    assert isinstance(result.get(timeout=TIMEOUT, propagate=False), Boom)
    assert result.traceback is not None and "raise Boom(msg)" in result.traceback


def test_unregistered_task_fails(app: App) -> None:
    result = app.send_task("no.such.task", (1,))
    app.Worker().run_until_idle()
    with pytest.raises(KeyError, match=r"no\.such\.task"):
        result.get(timeout=TIMEOUT)


def test_get_times_out(app: App) -> None:
    tasks = register(app)
    result = tasks["add"].delay(1, 1)
    with pytest.raises(TimeoutError):
        result.get(timeout=0.2)


def test_ignore_result_sends_no_result(app: App) -> None:
    tasks = register(app)
    quiet = tasks["quiet"].delay()
    marker = tasks["add"].delay(0, 0)
    app.Worker().run_until_idle()
    assert marker.get(timeout=TIMEOUT) == 0
    assert quiet.state == states.PENDING


@pytest.fixture
def published() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    seen: list[tuple[str, dict[str, Any]]] = []

    def recorder(name: str) -> Any:
        return lambda sender, **kw: seen.append((name, {"sender": sender, **kw}))

    sigs = (signals.before_publish, signals.after_publish, signals.task_sent)
    receivers = {sig: recorder(sig.name) for sig in sigs}
    for sig, receiver in receivers.items():
        sig.connect(receiver)
    yield seen
    for sig, receiver in receivers.items():
        sig.disconnect(receiver)


def test_publish_signals(app: App, published: list[tuple[str, dict[str, Any]]]) -> None:
    tasks = register(app)
    result = tasks["add"].apply_async((1, 2), headers={"x-extra": "yes"})
    names = [name for name, _ in published]
    assert names == ["before_publish", "after_publish", "task_sent"]
    before = published[0][1]
    assert before["sender"] == tasks["add"].name
    assert before["headers"]["id"] == result.id and before["headers"]["x-extra"] == "yes"
    assert before["routing_key"] == app.conf.task_default_queue
    assert before["properties"]["correlation_id"] == result.id
    assert published[2][1]["task_id"] == result.id
    assert published[2][1]["queue"] == app.conf.task_default_queue


def test_producer_pool_reuses_one_connection(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    tasks = register(app)
    opened: list[object] = []
    factory = kombu.connection.Connection._connection_factory

    def counting(self: Any) -> Any:
        opened.append(self)
        return factory(self)

    monkeypatch.setattr(kombu.connection.Connection, "_connection_factory", counting)
    results = [tasks["add"].delay(i, i) for i in range(25)]
    assert len(opened) == 1
    app.Worker().run_until_idle()
    assert [r.get(timeout=TIMEOUT) for r in results] == [2 * i for i in range(25)]


def test_threaded_worker_round_trips(app: App) -> None:
    tasks = register(app)
    with worker_context(app, concurrency=4, prefetch=8):
        results = [tasks["add"].delay(i, 1) for i in range(50)]
        assert [r.get(timeout=TIMEOUT) for r in results] == [i + 1 for i in range(50)]


def test_worker_logs_transitions(app: App, caplog: pytest.LogCaptureFixture) -> None:
    tasks = register(app)
    caplog.set_level("INFO", logger="taskpost.worker")
    result = tasks["add"].delay(1, 2)
    app.Worker().run_until_idle()
    result.get(timeout=TIMEOUT)
    messages = [r.getMessage() for r in caplog.records if result.id in r.getMessage()]
    steps = [m.split("] ")[1].split(" ")[0] for m in messages]
    assert steps == ["received", "started", "succeeded"]


def test_pickle_and_compression_when_accepted(broker_url: str) -> None:
    settings = {"task_serializer": "pickle", "result_serializer": "pickle"}
    settings |= {"accept_content": ["json", "pickle"], "task_compression": "zlib"}
    with app_context(broker_url=broker_url, **settings) as app:

        @app.task
        def ident(value: Any) -> Any:
            return value

        result = ident.delay({1, 2, 3})
        app.Worker().run_until_idle()
        assert result.get(timeout=TIMEOUT) == {1, 2, 3}


def test_declare_configured_queues(app: App) -> None:
    with app.connection() as conn:
        assert app.amqp.declare(conn) == [app.conf.task_default_queue]
