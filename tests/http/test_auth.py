"""Basic auth, tags and permissions: who sees what, with RabbitMQ 3.10.8's 401 bodies."""

from __future__ import annotations

from .conftest import Api, assert_shape

NOT_MANAGEMENT = {"error": "not_authorised", "reason": "Not management user"}
NOT_ADMIN = {"error": "not_authorised", "reason": "Not administrator user"}
NO_VHOST = {"error": "not_authorised", "reason": "User not authorised to access virtual host"}
NOT_FOUND = {"error": "Object Not Found", "reason": "Not Found"}


def test_no_credentials(api: Api) -> None:
    r = api.get("/api/overview", auth=None)
    assert (r.status, r.raw) == (401, b"")
    assert r.headers["www-authenticate"] == 'Basic realm="RabbitMQ Management"'


def test_bad_password(api: Api) -> None:
    r = api.get("/api/whoami", auth=("guest", "wrong"))
    assert (r.status, r.json) == (401, {"error": "not_authorized", "reason": "Login failed"})
    assert r.headers["www-authenticate"] == 'Basic realm="RabbitMQ Management"'


def test_a_user_without_tags_cannot_use_the_api(api: Api) -> None:
    user = api.make_user("fb-none", "", vhosts=(api.vhost,))
    for path in ("/api/whoami", "/api/overview", f"/api/queues/{api.v}"):
        r = api.get(path, auth=(user, "pw"))
        assert (r.status, r.json) == (401, NOT_MANAGEMENT), path


def test_a_management_user_sees_its_vhosts_only(api: Api) -> None:
    other = api.make_vhost("fb-http-other")
    api.ok("PUT", f"/api/queues/{api.v}/mine")
    api.ok("PUT", f"/api/queues/{other}/theirs")
    user = api.make_user("fb-mgmt", "management", vhosts=(api.vhost,))
    me = (user, "pw")
    assert api.get("/api/whoami", auth=me).json == {"name": user, "tags": ["management"]}
    assert [q["name"] for q in api.get("/api/queues", auth=me).json] == ["mine"]
    assert [v["name"] for v in api.get("/api/vhosts", auth=me).json] == [api.vhost]
    for path in (f"/api/queues/{other}", f"/api/queues/{other}/theirs", f"/api/exchanges/{other}"):
        r = api.get(path, auth=me)
        assert (r.status, r.json) == (401, NO_VHOST), path
    r = api.put(f"/api/queues/{other}/new", {}, auth=me)
    assert (r.status, r.json) == (401, NO_VHOST)
    assert api.put(f"/api/queues/{api.v}/new", {}, auth=me).status == 201
    for path in ("/api/users", "/api/permissions", "/api/definitions"):
        r = api.get(path, auth=me)
        assert (r.status, r.json) == (401, NOT_ADMIN), path
    r = api.put("/api/vhosts/fb-http-never", {}, auth=me)
    assert (r.status, r.json) == (401, NOT_ADMIN)


def test_a_monitoring_user_lists_every_vhost_but_reads_only_permitted_ones(api: Api) -> None:
    api.ok("PUT", f"/api/queues/{api.v}/q")
    user = api.make_user("fb-mon", "monitoring")
    me = (user, "pw")
    assert api.vhost in {v["name"] for v in api.get("/api/vhosts", auth=me).json}
    assert api.vhost not in {q["vhost"] for q in api.get("/api/queues", auth=me).json}
    r = api.get(f"/api/queues/{api.v}", auth=me)
    assert (r.status, r.json) == (401, NO_VHOST)
    assert api.get("/api/connections", auth=me).status == 200
    assert api.get("/api/users", auth=me).json == NOT_ADMIN


def test_users(api: Api) -> None:
    user = api.make_user("fb-u", "management,monitoring")
    r = api.get(f"/api/users/{user}")
    assert r.status == 200
    assert_shape(
        r.json,
        {"name": str, "password_hash": str, "hashing_algorithm": str, "tags": list, "limits": dict},
    )
    assert r.json["tags"] == ["management", "monitoring"]
    assert r.json["hashing_algorithm"] == "rabbit_password_hashing_sha256"
    assert user in {u["name"] for u in api.get("/api/users").json}
    assert api.get("/api/users/fb-http-nobody").json == NOT_FOUND
    assert api.delete(f"/api/users/{user}").status == 204
    assert api.get("/api/whoami", auth=(user, "pw")).json == {
        "error": "not_authorized",
        "reason": "Login failed",
    }


def test_permissions(api: Api) -> None:
    user = api.make_user("fb-p", "management")
    path = f"/api/permissions/{api.v}/{user}"
    assert api.get(path).json == NOT_FOUND
    assert api.put(path, {"configure": "^c", "write": "^w", "read": "^r"}).status == 201
    assert api.get(path).json == {
        "user": user,
        "vhost": api.vhost,
        "configure": "^c",
        "write": "^w",
        "read": "^r",
    }
    assert {"user": user, "vhost": api.vhost, "configure": "^c", "write": "^w", "read": "^r"} in (
        api.get("/api/permissions").json
    )
    assert api.get(f"/api/queues/{api.v}", auth=(user, "pw")).status == 200
    assert api.delete(path).status == 204
    assert api.get(path).json == NOT_FOUND
    assert api.get(f"/api/queues/{api.v}", auth=(user, "pw")).json == NO_VHOST
