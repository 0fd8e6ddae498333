"""``Worker``: consumes task messages and runs them in threads.

Two ways to run one:

* ``run_until_idle()`` runs every task that is due, in the calling thread,
  and returns when the queues are empty: the next ETA held (or ``None``).
  It never sleeps, so a test can advance a virtual clock and call it again.
* ``start()``/``stop()`` (or ``run()`` in the calling thread, as the CLI
  does) consume with a prefetch limit and run tasks on ``concurrency``
  threads.

A message is acknowledged when a thread starts its task (``acks_late``:
when the task finished). Messages received but not started stay unacked,
so the broker delivers them again when the worker stops.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import queue
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ._execute import Executor
from ._kombu import Consumer, KombuConnection, KombuMessage, KombuQueue
from ._protocol import Request, isoformat, parse_request

if TYPE_CHECKING:
    from ._app import App

__all__ = ["Worker"]

logger = logging.getLogger("taskpost.worker")

Delivery = tuple[KombuMessage, Request]


class Worker:
    """Consumes ``queues`` (names; default: the app's queues) and runs their tasks.

    Arguments:
        concurrency: threads running tasks.
        prefetch: unacked messages the broker may send (default ``4 * concurrency``).
        clock: returns now in seconds since the epoch (default: the app's clock);
            a virtual clock makes ETAs deterministic in tests.
        shutdown_timeout: how long a warm stop waits for running tasks.
    """

    def __init__(
        self,
        *,
        app: App,
        queues: Sequence[str] | None = None,
        concurrency: int = 1,
        prefetch: int | None = None,
        clock: Callable[[], float] | None = None,
        hostname: str | None = None,
        shutdown_timeout: float = 30.0,
        poll_interval: float = 0.5,
    ) -> None:
        self.app = app
        amqp = app.amqp
        names = list(queues or ())
        self.queues = [amqp.queues.get(n) for n in names] if names else amqp.queues.configured()
        self.concurrency = max(1, concurrency)
        self.prefetch = 4 * self.concurrency if prefetch is None else prefetch
        self.clock = clock or app.clock
        self.hostname = hostname or f"taskpost@{socket.gethostname()}"
        self.shutdown_timeout = shutdown_timeout
        self.poll_interval = poll_interval
        self.ready = threading.Event()
        self.executor = Executor(
            app=app, hostname=self.hostname, clock=self.clock, should_report=self._alive
        )
        self._held: list[tuple[float, int, KombuMessage, Request]] = []
        self._seq = itertools.count()
        self._stop = threading.Event()
        self._terminate = threading.Event()
        self._thread: threading.Thread | None = None
        self._sync: tuple[KombuConnection, list[KombuQueue]] | None = None
        self._ready: deque[Delivery] = deque()
        self._done: queue.Queue[tuple[int, KombuMessage, bool]] = queue.Queue()
        self._active = 0
        self._generation = 0
        self._consumer: Any = None
        self.abandoned = 0

    def __repr__(self) -> str:
        return f"<taskpost.Worker {self.hostname} queues={[q.name for q in self.queues]}>"

    def __enter__(self) -> Worker:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self.close()

    def _alive(self) -> bool:
        return not self._terminate.is_set()

    @property
    def accept(self) -> list[str]:
        """Content types of task messages this worker accepts."""
        return list(self.app.conf.accept_content)

    def next_eta(self) -> float | None:
        """The earliest ETA of the messages held, if any."""
        return self._held[0][0] if self._held else None

    # -- receiving ------------------------------------------------------------

    def _parse(self, message: KombuMessage) -> Request | None:
        try:
            return parse_request(
                headers=message.headers,
                properties=message.properties,
                payload=message.decode(),
                delivery_info=dict(message.delivery_info),
            )
        except Exception:
            logger.exception("Rejecting an invalid task message")
            message.reject(requeue=False)
            return None

    def _receive(self, message: KombuMessage) -> Delivery | None:
        """A message to run now, or ``None`` if it was held, revoked or rejected."""
        request = self._parse(message)
        if request is None:
            return None
        logger.info("Task %s[%s] received", request.name, request.id)
        if self.executor.is_expired(request):
            self.executor.revoke_expired(request)
            message.ack()
            return None
        if request.eta is not None and request.eta > self.clock():
            logger.info(
                "Task %s[%s] held until %s", request.name, request.id, isoformat(request.eta)
            )
            heapq.heappush(self._held, (request.eta, next(self._seq), message, request))
            self._update_qos()
            return None
        return message, request

    def _pop_due(self) -> Delivery | None:
        if self._held and self._held[0][0] <= self.clock():
            _, _, message, request = heapq.heappop(self._held)
            self._update_qos()
            return message, request
        return None

    def _acks_late(self, request: Request) -> bool:
        task = self.executor.task_for(request)
        return task.effective_acks_late if task is not None else False

    # -- run_until_idle -------------------------------------------------------

    def run_until_idle(self, *, max_tasks: int | None = None) -> float | None:
        """Run every due task until the queues are empty; never sleeps.

        Returns the earliest ETA still held (advance the clock past it and
        call again), or ``None`` when nothing is held.
        """
        ran = 0
        while max_tasks is None or ran < max_tasks:
            delivery = self._pop_due() or self._get_one()
            if delivery is None:
                break
            ran += self._run_sync(delivery)
        return self.next_eta()

    def _sync_queues(self) -> list[KombuQueue]:
        if self._sync is None:
            conn = self.app.connection()
            channel = conn.channel()
            bound = [q(channel) for q in self.queues]
            for q in bound:
                q.declare()
            self._sync = (conn, bound)
        return self._sync[1]

    def _get_one(self) -> Delivery | None:
        for bound in self._sync_queues():
            while (message := bound.get(no_ack=False, accept=self.accept)) is not None:
                delivery = self._receive(message)
                if delivery is not None:
                    return delivery
        return None

    def _run_sync(self, delivery: Delivery) -> int:
        message, request = delivery
        late = self._acks_late(request)
        if not late:
            message.ack()
        self.executor.execute(request)
        if late:
            message.ack()
        return 1

    # -- threaded -------------------------------------------------------------

    def start(self, *, timeout: float = 30.0) -> None:
        """Run the worker in a background thread; returns once it consumes."""
        self._thread = threading.Thread(target=self.run, name=f"{self.hostname}-consumer")
        self._thread.daemon = True
        self._thread.start()
        if not self.ready.wait(timeout):
            raise RuntimeError(f"worker did not start consuming within {timeout}s")

    def request_stop(self, *, graceful: bool = True) -> None:
        """Ask the worker to stop (safe in a signal handler).

        Graceful: finish running tasks, leave the others unacked. Otherwise
        running tasks are abandoned and their unacked messages requeued.
        """
        if not graceful:
            self._terminate.set()
        self._stop.set()

    def stop(self, *, graceful: bool = True, timeout: float | None = None) -> None:
        """Stop the background worker and wait for its thread."""
        self.request_stop(graceful=graceful)
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(self.shutdown_timeout + 10 if timeout is None else timeout)

    def run(self) -> None:
        """Consume and run tasks in this thread until :meth:`request_stop`."""
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=self.hostname)
        conn = self._consume()
        try:
            self.ready.set()
            while not self._stop.is_set():
                conn = self._step(conn, pool)
            self._shutdown(conn)
        finally:
            pool.shutdown(wait=False)
            self._close_quietly(conn)

    def _consume(self) -> KombuConnection:
        conf = self.app.conf
        conn = self.app.connection()
        if conf.broker_connection_retry:
            conn.ensure_connection(max_retries=conf.broker_connection_max_retries)
        channel = conn.channel()
        self._consumer = Consumer(
            channel, self.queues, callbacks=[self._on_message], accept=self.accept
        )
        self._consumer.qos(prefetch_count=self.prefetch)
        self._consumer.consume()
        return conn

    def _update_qos(self) -> None:
        if self._consumer is not None and self.prefetch:
            self._consumer.qos(prefetch_count=self.prefetch + len(self._held))

    def _on_message(self, body: Any, message: KombuMessage) -> None:
        delivery = self._receive(message)
        if delivery is not None:
            self._ready.append(delivery)

    def _step(self, conn: KombuConnection, pool: ThreadPoolExecutor) -> KombuConnection:
        try:
            self._process_done()
            while (due := self._pop_due()) is not None:
                self._ready.append(due)
            self._dispatch(pool)
            if self._ready and self._active >= self.concurrency:
                # Saturated: take in what has arrived, then wait for a task to finish.
                self._drain(conn, 0.001)
                self._process_done(timeout=self._poll_timeout(self.poll_interval))
            else:
                self._drain(conn, self._poll_timeout())
        except conn.connection_errors + conn.channel_errors:
            if not self.app.conf.broker_connection_retry:
                raise
            logger.warning("Connection to the broker lost; reconnecting", exc_info=True)
            conn = self._reconnect(conn)
        return conn

    @staticmethod
    def _drain(conn: KombuConnection, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            conn.drain_events(timeout=timeout)

    def _reconnect(self, conn: KombuConnection) -> KombuConnection:
        self._close_quietly(conn)
        self._generation += 1
        self._ready.clear()
        self._held.clear()
        return self._consume()

    def _poll_timeout(self, timeout: float | None = None) -> float:
        if timeout is None:
            timeout = 0.005 if (self._active or self._ready) else self.poll_interval
        eta = self.next_eta()
        if eta is not None:
            timeout = max(0.0, min(timeout, eta - self.clock()))
        return timeout

    def _dispatch(self, pool: ThreadPoolExecutor) -> None:
        while self._ready and self._active < self.concurrency and not self._stop.is_set():
            message, request = self._ready.popleft()
            late = self._acks_late(request)
            if not late:
                message.ack()
            self._active += 1
            pool.submit(self._work, self._generation, message, request, late)

    def _work(self, generation: int, message: KombuMessage, request: Request, late: bool) -> None:
        try:
            self.executor.execute(request)
        except BaseException:
            logger.exception("Internal error running task %s[%s]", request.name, request.id)
        finally:
            self._done.put((generation, message, late))

    def _process_done(self, timeout: float | None = None) -> None:
        """Account for finished tasks (late acks); wait up to ``timeout`` for one."""
        block = timeout is not None
        while True:
            try:
                generation, message, late = self._done.get(block=block, timeout=timeout)
            except queue.Empty:
                return
            block = False
            self._active -= 1
            if late and generation == self._generation and self._alive():
                message.ack()

    def _shutdown(self, conn: KombuConnection) -> None:
        logger.info("Worker %s stopping: %d tasks running", self.hostname, self._active)
        try:
            self._consumer.cancel()
        except Exception:
            logger.debug("could not cancel the consumer", exc_info=True)
        deadline = time.monotonic() + self.shutdown_timeout
        while self._active and self._alive() and time.monotonic() < deadline:
            self._process_done(timeout=min(0.1, max(0.0, deadline - time.monotonic())))
        if self._active:
            logger.warning("Abandoning %d running tasks; their messages are requeued", self._active)
            self._terminate.set()
        self.abandoned = self._active
        unstarted = len(self._ready) + len(self._held)
        if unstarted:
            logger.info("Leaving %d unstarted tasks unacked to be requeued", unstarted)

    @staticmethod
    def _close_quietly(conn: KombuConnection) -> None:
        try:
            conn.close()
        except Exception:
            logger.debug("error closing a worker connection", exc_info=True)

    def close(self) -> None:
        """Close the ``run_until_idle`` connection (held messages are requeued)."""
        sync, self._sync = self._sync, None
        self._held.clear()
        if sync is not None:
            self._close_quietly(sync[0])
