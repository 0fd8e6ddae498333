"""Configuration, routing, the message format and signals (no broker needed)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from kombu import Exchange, Queue

from taskpost import App, ConfigurationError, Signal, signals
from taskpost._protocol import build_task_message, parse_request

NOW = 1_700_000_000.0


def test_unknown_setting_is_refused_with_a_suggestion() -> None:
    expected = r"task_serialiser.*Did you mean 'task_serializer'"
    with pytest.raises(ConfigurationError, match=expected):
        App(broker_url="memory://", task_serialiser="json")


def test_app_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        App("memory://")  # type: ignore[misc]


def test_defaults_are_celerys() -> None:
    conf = App(broker_url="memory://").conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ("json",)
    assert conf.task_default_queue == "celery"
    assert conf.default_exchange == "celery"
    assert conf.default_routing_key == "celery"
    assert conf.result_backend is None


def test_pickle_needs_accept_content() -> None:
    with pytest.raises(ConfigurationError, match="pickle"):
        App(broker_url="memory://", task_serializer="pickle")
    app = App(broker_url="memory://", task_serializer="pickle", accept_content=["json", "pickle"])
    assert app.conf.accept_content == ("json", "pickle")


def test_only_rpc_results() -> None:
    with pytest.raises(ConfigurationError, match="rpc://"):
        App(broker_url="memory://", result_backend="redis://")


def test_config_from_module_path() -> None:
    app = App(broker_url="amqp://")
    app.config_from_object("tests.taskpost.settings_module")
    assert app.conf.broker_url == "memory://"
    assert app.conf.task_default_queue == "from-module"
    assert app.amqp.router.route({}, "reports.daily", (), {})["queue"].name == "reports"


def test_config_from_object_and_mapping() -> None:
    app = App(broker_url="memory://")
    app.config_from_object(SimpleNamespace(task_default_queue="a", result_expires=5))
    assert (app.conf.task_default_queue, app.conf.result_expires) == ("a", 5)
    app.config_from_object({"task_compression": "zlib"})
    assert app.conf.task_compression == "zlib"
    assert app.conf.task_default_queue == "a"
    with pytest.raises(ConfigurationError, match="brokr_url"):
        app.config_from_object({"brokr_url": "x"})


def test_routing_precedence() -> None:
    app = App(
        broker_url="memory://",
        task_default_queue="default",
        task_queues=[Queue("hi", Exchange("prio", "topic"), "hi.#")],
        task_routes=[
            {"mail.*": "mail", "hi.task": {"queue": "hi"}},
            lambda name, *_: {"queue": "fn"} if name == "by.fn" else None,
        ],
    )
    route = app.amqp.router.route
    assert route({}, "other", (), {})["queue"].name == "default"
    mail = route({}, "mail.send", (), {})
    assert (mail["queue"].name, mail["exchange"], mail["routing_key"]) == ("mail", "mail", "mail")
    hi = route({}, "hi.task", (), {})
    assert (hi["exchange"], hi["routing_key"]) == ("prio", "hi.#")
    assert route({}, "by.fn", (), {})["queue"].name == "fn"
    assert route({"queue": "explicit"}, "mail.send", (), {})["queue"].name == "explicit"
    assert [q.name for q in app.amqp.queues.configured()] == ["hi"]


def test_message_is_protocol_2() -> None:
    msg = build_task_message(
        task_id="id-1",
        name="tasks.add",
        args=(2, 2),
        kwargs={"z": 1},
        now=NOW,
        countdown=10,
        expires=60,
        reply_to="replies",
    )
    assert msg.body == (
        [2, 2],
        {"z": 1},
        dict.fromkeys(("callbacks", "errbacks", "chain", "chord")),
    )
    headers = msg.headers
    assert headers["lang"] == "py" and headers["task"] == "tasks.add" and headers["id"] == "id-1"
    assert headers["eta"] == "2023-11-14T22:13:30+00:00"
    assert headers["expires"] == "2023-11-14T22:14:20+00:00"
    assert headers["root_id"] == "id-1" and headers["parent_id"] is None
    assert headers["retries"] == 0 and headers["timelimit"] == [None, None]
    assert headers["argsrepr"] == "[2, 2]" and headers["kwargsrepr"] == "{'z': 1}"
    assert headers["origin"].startswith("gen")
    for key in ("shadow", "group", "group_index", "ignore_result"):
        assert key in headers
    assert msg.properties == {"correlation_id": "id-1", "reply_to": "replies"}


def test_parse_round_trip() -> None:
    msg = build_task_message(
        task_id="id-2", name="t", args=[1], kwargs={}, now=NOW, countdown=5, retries=2
    )
    req = parse_request(
        headers=msg.headers,
        properties=msg.properties,
        payload=list(msg.body),
        delivery_info={"routing_key": "q"},
    )
    assert (req.id, req.name, req.args, req.retries, req.eta) == ("id-2", "t", [1], 2, NOW + 5)
    with pytest.raises(ValueError, match="not a task message"):
        parse_request(headers={}, properties={}, payload=[1], delivery_info={})


def test_parse_protocol_1_body() -> None:
    req = parse_request(
        headers={},
        properties={"reply_to": "r"},
        payload={"task": "t", "id": "x", "args": [1], "kwargs": {}, "retries": 1},
        delivery_info={},
    )
    assert (req.name, req.id, req.args, req.retries, req.reply_to) == ("t", "x", [1], 1, "r")


def test_signal_connect_send_disconnect() -> None:
    sig = Signal(name="s")
    seen: list[dict[str, Any]] = []

    @sig.connect
    def receiver(sender: object, **kwargs: Any) -> str:
        seen.append({"sender": sender, **kwargs})
        return "ok"

    def broken(sender: object, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    sig.connect(broken)
    responses = sig.send("me", x=1)
    assert seen == [{"sender": "me", "x": 1}]
    assert responses[0] == (receiver, "ok") and isinstance(responses[1][1], RuntimeError)
    sig.disconnect(receiver)
    sig.disconnect(broken)
    assert sig.receivers == ()
    assert signals.task_sent.name == "task_sent"


def test_task_decorator_forms() -> None:
    app = App(broker_url="memory://")

    @app.task
    def plain(x: int) -> int:
        return x + 1

    @app.task(name="custom.name", bind=True, max_retries=5)
    def bound(self: Any, x: int) -> str:
        return f"{self.name}:{x}"

    assert plain(1) == 2
    assert bound(3) == "custom.name:3"
    assert set(app.tasks) == {plain.name, "custom.name"}
    assert plain.name.endswith("test_task_decorator_forms.<locals>.plain")
    assert bound.request.called_directly
