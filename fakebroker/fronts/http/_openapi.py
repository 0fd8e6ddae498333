"""The OpenAPI 3.1 description of fakebroker's own endpoints (/api/fakebroker/...).

Served at ``/api/fakebroker/openapi.json``; tests/http validate the server's
answers against these schemas.  RabbitMQ's management endpoints are
described by RabbitMQ's own documentation, not here.
"""

from __future__ import annotations

from typing import Any

from ..._version import __version__

__all__ = ["SPEC"]

_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_INT = {"type": ["integer", "null"]}
_NULLABLE_NUM = {"type": ["number", "null"]}

_ERROR = {
    "type": "object",
    "required": ["error", "reason"],
    "properties": {"error": {"type": "string"}, "reason": {"type": "string"}},
}

_RULE = {
    "type": "object",
    "required": ["id", "action", "point", "times", "seen", "fired", "exhausted"],
    "properties": {
        "id": {"type": "integer", "description": "the rule's id while it is in force"},
        "action": {"type": "string"},
        "point": {"type": "string"},
        "connection": {"type": "string"},
        "channel": {"type": "integer"},
        "method": {"type": "string"},
        "exchange": {"type": "string"},
        "queue": {"type": "string"},
        "routing_key": {"type": "string"},
        "nth": {"type": "integer"},
        "every": {"type": "integer"},
        "after": {"type": "integer"},
        "probability": {"type": "number"},
        "times": _NULLABLE_INT,
        "holding": {"type": "integer"},
        "bytes": {"type": "integer"},
        "code": {"type": "integer"},
        "text": {"type": "string"},
        "delay": {"type": "number"},
        "rate": {"type": "number"},
        "seen": {"type": "integer"},
        "fired": {"type": "integer"},
        "exhausted": {"type": "boolean"},
    },
}

_NEW_RULE = {
    "oneOf": [
        {
            "type": "object",
            "description": "call a builder of node.faults (docs/faults.md) with these arguments",
            "required": ["builder"],
            "properties": {"builder": {"type": "string"}, "args": {"type": "object"}},
        },
        {
            "type": "object",
            "description": "a Rule's fields (action, point, filters, counts)",
            "required": ["action", "point"],
            "properties": {"action": {"type": "string"}, "point": {"type": "string"}},
        },
    ]
}

_CLOCK = {
    "type": "object",
    "required": ["now", "virtual", "next_deadline"],
    "properties": {
        "now": {"type": "number", "description": "the broker's time, seconds since the epoch"},
        "virtual": {"type": "boolean"},
        "next_deadline": _NULLABLE_NUM,
        "timers_run": {"type": "integer"},
    },
}

_MESSAGE = {
    "type": ["object", "null"],
    "required": ["id", "exchange", "routing_key", "properties", "payload", "payload_bytes"],
    "properties": {
        "id": {"type": "integer"},
        "exchange": {"type": "string"},
        "routing_key": {"type": "string"},
        "properties": {"type": "object"},
        "payload": {"type": "string", "description": "the first 200 bytes"},
        "payload_encoding": {"enum": ["string", "base64"]},
        "payload_bytes": {"type": "integer"},
    },
}

_ENTRY = {
    "type": "object",
    "required": ["seq", "time", "kind", "vhost", "exchange", "routing_key", "queue", "details"],
    "properties": {
        "seq": {"type": "integer"},
        "time": {"type": "number"},
        "kind": {"type": "string"},
        "vhost": {"type": "string"},
        "exchange": _NULLABLE_STR,
        "routing_key": _NULLABLE_STR,
        "queue": _NULLABLE_STR,
        "message": {"$ref": "#/components/schemas/Message"},
        "details": {"type": "object"},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_ERRORS = {
    "400": _json(_ref("Error"), "a malformed request"),
    "401": {"description": "not logged in, or not an administrator"},
}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "fakebroker control API",
        "version": __version__,
        "description": "Faults, the clock and the journal of a fakebroker node "
        "(docs/http.md). Every endpoint needs an administrator (HTTP basic auth).",
    },
    "components": {
        "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
        "schemas": {
            "Error": _ERROR,
            "Rule": _RULE,
            "NewRule": _NEW_RULE,
            "Clock": _CLOCK,
            "Message": _MESSAGE,
            "JournalEntry": _ENTRY,
        },
    },
    "security": [{"basic": []}],
    "paths": {
        "/api/fakebroker/faults": {
            "get": {
                "summary": "The fault plan, each rule with how often it matched and fired",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["rules", "seed"],
                            "properties": {
                                "rules": {"type": "array", "items": _ref("Rule")},
                                "seed": {"type": "integer"},
                            },
                        },
                        "the plan",
                    ),
                    **_ERRORS,
                },
            },
            "post": {
                "summary": "Add a rule (or run an at-once fault: drop_connections, restart ...)",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("NewRule")}},
                },
                "responses": {
                    "201": _json(_ref("Rule"), "the rule added"),
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["builder", "result"],
                            "properties": {"builder": {"type": "string"}, "result": {}},
                        },
                        "an at-once fault ran",
                    ),
                    **_ERRORS,
                },
            },
            "delete": {
                "summary": "Remove every rule",
                "responses": {"204": {"description": "the plan is empty"}, **_ERRORS},
            },
        },
        "/api/fakebroker/faults/{id}": {
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "delete": {
                "summary": "Remove one rule",
                "responses": {
                    "204": {"description": "removed"},
                    "404": _json(_ref("Error"), "no such rule"),
                    **_ERRORS,
                },
            },
        },
        "/api/fakebroker/clock": {
            "get": {
                "summary": "The broker's clock",
                "responses": {"200": _json(_ref("Clock"), "the clock"), **_ERRORS},
            },
            "post": {
                "summary": "Advance a virtual clock, running every timer due",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["advance"],
                                "properties": {"advance": {"type": "number", "minimum": 0}},
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(_ref("Clock"), "the clock after advancing"),
                    "409": _json(_ref("Error"), "the node runs on the system clock"),
                    **_ERRORS,
                },
            },
        },
        "/api/fakebroker/journal": {
            "get": {
                "summary": "Recent journal entries, oldest first",
                "parameters": [
                    {"name": n, "in": "query", "schema": {"type": "string"}}
                    for n in ("kind", "queue", "exchange", "routing_key", "vhost")
                ]
                + [
                    {"name": n, "in": "query", "schema": {"type": "integer"}}
                    for n in ("since", "limit")
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["last_seq", "enabled", "entries"],
                            "properties": {
                                "last_seq": {"type": "integer"},
                                "enabled": {"type": "boolean"},
                                "entries": {"type": "array", "items": _ref("JournalEntry")},
                            },
                        },
                        "the entries",
                    ),
                    **_ERRORS,
                },
            },
        },
        "/api/fakebroker/events": {
            "get": {
                "summary": "Server-sent events: `state` (a snapshot) and `journal` (new entries)",
                "parameters": [{"name": "interval", "in": "query", "schema": {"type": "number"}}],
                "responses": {
                    "200": {
                        "description": "an event stream",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_ERRORS,
                },
            },
        },
        "/api/fakebroker/openapi.json": {
            "get": {
                "summary": "This description",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "the OpenAPI document")},
            }
        },
    },
}
