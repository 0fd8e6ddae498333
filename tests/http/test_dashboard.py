"""The dashboard in headless Chromium: live counts, adding a fault from the page.

Uses Debian's chromium (/usr/bin/chromium; .ci/run installs it where it is
missing) driven by playwright without a browser download.  The screenshot
is kept under the test's tmp_path and its path printed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import amqp
import kombu
import pytest

import fakebroker

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture
def page(fake_node: fakebroker.Node) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    http = fake_node.serve_http(port=0)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = browser.new_context(
                http_credentials={"username": "guest", "password": "guest"},
                viewport={"width": 1400, "height": 1000},
            )
            page = context.new_page()
            page.goto(http.url)
            sync_api.expect(page.locator("#live-text")).to_have_text("live", timeout=10_000)
            yield page
        finally:
            browser.close()


def test_dashboard_shows_counts_and_adds_a_fault(
    page: Any, fake_node: fakebroker.Node, tmp_path: Path
) -> None:
    expect = sync_api.expect
    url = fake_node.serve(port=0).url
    with kombu.Connection(url) as conn:
        channel = conn.channel()
        channel.queue_declare("orders")
        channel.exchange_declare("shop", "topic")
        channel.queue_bind("orders", "shop", "order.*")
        row = page.locator('#queue-rows tr[data-queue="orders"]')
        expect(row.locator(".ready")).to_have_text("0", timeout=10_000)
        expect(page.locator('#topology g.ex[data-exchange="shop"]')).to_have_count(1)
        expect(page.locator("#topology path")).to_have_count(1)

        page.select_option("#fault-builder", "nack_confirms")
        page.fill("#fault-routing-key", "order.new")
        page.click("#fault-add")
        expect(page.locator("#fault-rows tr")).to_have_count(1, timeout=10_000)
        with fake_node.locked():
            rules = [(r.action, r.routing_key) for r in fake_node.faults.rules]
        assert rules == [("nack", "order.new")]

        producer = conn.Producer(channel)
        for i in range(3):
            producer.publish({"id": i}, exchange="shop", routing_key="order.new")
        expect(row.locator(".ready")).to_have_text("3", timeout=10_000)
        expect(page.locator("#n-ready")).to_have_text("3")

    confirming = kombu.Connection(url, transport_options={"confirm_publish": True})
    with confirming, pytest.raises(amqp.exceptions.MessageNacked):
        confirming.Producer().publish({"id": 9}, exchange="shop", routing_key="order.new")
    expect(page.locator("#fault-rows tr .fired")).to_have_text("1/1", timeout=10_000)
    expect(row.locator(".ready")).to_have_text("4", timeout=10_000)
    expect(page.locator("#journal .kind.fault").first).to_be_visible(timeout=10_000)

    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"dashboard screenshot: {shot}")
    assert shot.stat().st_size > 10_000

    page.click("#fault-clear")
    expect(page.locator("#fault-rows tr")).to_have_count(0, timeout=10_000)
    assert fake_node.faults.rules == ()
