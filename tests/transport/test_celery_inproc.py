"""A real Celery worker consuming ``fakebroker://`` through kombu's event loop."""

from __future__ import annotations

import pytest

celery = pytest.importorskip("celery")

from celery.contrib.testing.worker import start_worker  # noqa: E402

TIMEOUT = 10.0


def _app(broker_url: str, queue: str) -> celery.Celery:
    app = celery.Celery("fbtest", broker=broker_url, backend="rpc://")
    app.conf.update(
        # kombu's hub polls for up to 10 s when idle: heartbeat timers bound the
        # poll, so the worker thread notices the shutdown quickly (as with RabbitMQ).
        broker_heartbeat=2,
        broker_connection_retry_on_startup=False,
        worker_hijack_root_logger=False,
        task_default_queue=queue,
        task_queues=None,
    )

    @app.task(name="fbtest.add", shared=False)
    def add(x: int, y: int) -> int:
        return x + y

    app.loader.import_module("celery.contrib.testing.tasks")
    return app


def test_celery_worker_runs_a_task_and_returns_its_result(url: str, qname: str) -> None:
    broker_url = "fakebroker://celery" if url.startswith("fakebroker") else url
    app = _app(broker_url, qname)
    with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=TIMEOUT):
        result = app.tasks["fbtest.add"].delay(2, 3)
        assert result.get(timeout=TIMEOUT) == 5
        assert app.tasks["fbtest.add"].delay(40, 2).get(timeout=TIMEOUT) == 42


def test_celery_worker_through_fakebroker_serve(qname: str) -> None:
    """The same app through `fakebroker serve` (TCP), as a Celery worker process would use it."""
    from fakebroker import serve

    with serve(port=0) as server:
        app = _app(server.url, qname)
        with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=TIMEOUT):
            assert app.tasks["fbtest.add"].delay(2, 3).get(timeout=TIMEOUT) == 5


def test_celery_worker_keeps_up_with_a_stream_of_tasks(qname: str) -> None:
    """2,000 tasks queued at once all run (a worker on fakebroker:// once stalled here).

    kombu's hub ran Celery's deferred acks only after its next poll; in-process
    nothing woke that poll, so the worker waited a poll timeout per prefetch
    window (1 s with these heartbeats). The transport now wakes the hub while
    it has callbacks queued.

    fakebroker:// only: on the real RabbitMQ the same hub order stalls Celery
    whenever the socket happens to be quiet (kombu PR #1587, celery #7718):
    2,000 tasks took from 2 s to 19 s there, and over 30 s on a loaded CI.
    """
    import threading

    app = _app("fakebroker://celery", qname)
    total, ran, done = 2000, [0], threading.Event()

    @app.task(name="fbtest.tick", shared=False, ignore_result=True)
    def tick() -> None:
        ran[0] += 1
        if ran[0] == total:
            done.set()

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=TIMEOUT):
        for _ in range(total):
            tick.delay()
        # ~2 s here; stalled, 1,000 tasks took ~40 s and this bound fails
        assert done.wait(30.0), f"only {ran[0]} of {total} tasks ran"


def test_the_hub_is_woken_while_it_has_callbacks_queued() -> None:
    """Before kombu's hub polls, the pipe's descriptor is readable iff the hub has work queued."""
    import select

    import kombu
    from kombu.asynchronous import Hub

    hub = Hub()
    with kombu.Connection("fakebroker://hubtick") as conn:
        conn.connect()
        conn.transport.register_with_event_loop(conn.connection, hub)
        fd = conn.connection.sock.fileno()

        def readable() -> bool:
            return bool(select.select([fd], [], [], 0)[0])

        def tick() -> None:
            for callback in list(hub.on_tick):
                callback()

        tick()
        assert not readable()
        hub._loop_thread = __import__("threading").get_ident()  # queued from the loop's thread
        hub.call_soon(lambda: None)
        tick()
        assert readable()
        with pytest.raises(TimeoutError):
            conn.drain_events(timeout=0)  # the hub's read finds nothing ...
        assert not readable()  # ... and the descriptor is quiet again
    hub.close()
