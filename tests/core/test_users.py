from __future__ import annotations

from fakebroker.core import Broker
from fakebroker.core._passwords import check_password, hash_password

# The hash RabbitMQ 3.10.8 exported for guest/guest (rabbitmqctl export_definitions).
RABBIT_GUEST_HASH = "viGlt18ZphZs2jgoS64lotVsGIXy7vHrkavjwbIDndhjUejZ"


def test_rabbitmq_exported_hash_is_accepted() -> None:
    broker = Broker(users={})
    broker.add_user("guest", password_hash=RABBIT_GUEST_HASH)
    assert broker.authenticate("guest", "guest")
    assert not broker.authenticate("guest", "Guest")


def test_default_user_is_guest() -> None:
    broker = Broker()
    assert broker.authenticate("guest", "guest")
    assert not broker.authenticate("guest", "wrong")
    assert not broker.authenticate("nobody", "guest")


def test_password_hash_users() -> None:
    broker = Broker()
    broker.add_user("alice", password_hash=hash_password("s3cret"))
    assert broker.authenticate("alice", "s3cret")
    assert not broker.authenticate("alice", "nope")
    broker.add_user(
        "bob",
        password_hash=hash_password("pw", "rabbit_password_hashing_sha512"),
        hashing_algorithm="rabbit_password_hashing_sha512",
    )
    assert broker.authenticate("bob", "pw")


def test_hash_format_is_rabbitmqs() -> None:
    assert check_password("guest", hash_password("guest", salt=b"\x00\x01\x02\x03"))
    assert not check_password("guest", "not base64!")
    assert not check_password("guest", hash_password("guest"), "unknown_algorithm")
