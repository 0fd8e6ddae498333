"""A Celery application: sign-ups enqueue a welcome e-mail; a task adds numbers."""

from __future__ import annotations

from typing import Any

from celery import Celery, shared_task

SENT: list[str] = []


def make_app(**config: Any) -> Celery:
    """The shop's Celery app (tests pass ``broker_url`` and friends)."""
    app = Celery("shop")
    app.conf.update(config)
    return app


@shared_task(name="shop.add")
def add(x: int, y: int) -> int:
    """Add two numbers."""
    return x + y


@shared_task(name="shop.send_welcome")
def send_welcome(email: str) -> str:
    """Pretend to send an e-mail."""
    SENT.append(email)
    return f"sent to {email}"


def sign_up(email: str) -> None:
    """Create the account, then enqueue the welcome e-mail."""
    send_welcome.delay(email)
