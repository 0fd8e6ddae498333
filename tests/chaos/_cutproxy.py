"""A TCP proxy that cuts connections after N bytes, as Toxiproxy's limit_data does.

It runs on its own asyncio loop in a thread, in front of any AMQP server
(fakebroker or RabbitMQ), so the same chaos test can run against both. The
k-th connection through it gets the k-th limit of ``limits``; connections past
the list pass untouched. A limit counts the bytes of one direction
("upstream": client to server, "downstream": server to client); when the
count is reached the proxy forwards exactly that many bytes and then resets
both sides.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Cut:
    """Cut after ``after`` bytes going ``direction`` ("upstream" or "downstream")."""

    after: int
    direction: str


class CutProxy:
    """Listens on 127.0.0.1:port (free), forwards to ``target``, cuts per ``limits``."""

    def __init__(self, *, target: tuple[str, int], limits: Sequence[Cut]) -> None:
        self.target = target
        self.limits = list(limits)
        self.connections = 0
        self.cuts = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._run, name="cut-proxy", daemon=True)

    def __enter__(self) -> CutProxy:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._accept, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.run_until_complete(asyncio.sleep(0))
            self._loop.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self.connections
        self.connections += 1
        cut = self.limits[index] if index < len(self.limits) else None
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(writer)
            return
        budget = {"upstream": None, "downstream": None}
        if cut is not None:
            budget[cut.direction] = cut.after
        done = asyncio.Event()

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, way: str) -> None:
            left = budget[way]
            try:
                while True:
                    data = await src.read(65536)
                    if not data:
                        break
                    if left is not None and len(data) >= left:
                        dst.write(data[:left])
                        with contextlib.suppress(ConnectionError):
                            await dst.drain()
                        self.cuts += 1
                        break
                    if left is not None:
                        left -= len(data)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            done.set()

        tasks = [
            asyncio.create_task(pump(reader, up_writer, "upstream")),
            asyncio.create_task(pump(up_reader, writer, "downstream")),
        ]
        await done.wait()
        for task in tasks:
            task.cancel()
        _reset(writer)
        _reset(up_writer)


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def doubling_cuts(start: int, stop: int) -> list[Cut]:
    """64, 128, ... up to ``stop``, each in both directions (upstream first)."""
    cuts = []
    size = start
    while size <= stop:
        cuts += [Cut(size, "upstream"), Cut(size, "downstream")]
        size *= 2
    return cuts
