"""Every status, error and reason text the HTTP front answers with (RabbitMQ 3.10.8's)."""

from __future__ import annotations

__all__ = [
    "ACCESS_REFUSED",
    "LOGIN_FAILED",
    "NOT_ADMINISTRATOR",
    "NOT_FOUND",
    "NOT_JSON",
    "NOT_MANAGEMENT",
    "NOT_MONITORING",
    "REALM",
    "VHOST_NOT_AUTHORISED",
    "VHOST_NOT_FOUND",
    "key_missing",
]

#: The basic-auth realm RabbitMQ asks for.
REALM = 'Basic realm="RabbitMQ Management"'

#: (error, reason) pairs of RabbitMQ's JSON error bodies.
NOT_FOUND = ("Object Not Found", "Not Found")
LOGIN_FAILED = ("not_authorized", "Login failed")
NOT_MANAGEMENT = ("not_authorised", "Not management user")
NOT_MONITORING = ("not_authorised", "Not monitor user")
NOT_ADMINISTRATOR = ("not_authorised", "Not administrator user")
VHOST_NOT_AUTHORISED = ("not_authorised", "User not authorised to access virtual host")
ACCESS_REFUSED = ("not_authorised", "Access refused.")
VHOST_NOT_FOUND = ("not_found", "vhost_not_found")
NOT_JSON = ("bad_request", "not_json")
DEFINITIONS_NOT_JSON = ("bad_request", "failed_to_parse_json")

#: The text a connection closed through the API gets (320 CONNECTION_FORCED - ...).
CLOSED_VIA_API = "Closed via management plugin"


def key_missing(keys: list[str]) -> str:
    """``[{key_missing,payload}]`` as Erlang's ``~p`` prints it (one line while it fits)."""
    items = [f"{{key_missing,{key}}}" for key in keys]
    one_line = "[" + ",".join(items) + "]"
    if len(one_line) < 79:
        return one_line
    return "[" + ",\n ".join(items) + "]"
