"""A raw RESP client for the conformance tests: bytes out, whole replies (as bytes) back."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit


def request(*args: bytes | str | int) -> bytes:
    """A command as a RESP array of bulk strings."""
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


class Raw:
    """One socket to a Redis; :meth:`call` returns a whole reply's bytes."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port or 6379), timeout=timeout)
        self.buf = b""
        db = (parts.path or "/0").strip("/") or "0"
        assert self.call("SELECT", db) == b"+OK\r\n"

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def call(self, *args: bytes | str | int) -> bytes:
        self.send(request(*args))
        return self.reply()

    def reply(self) -> bytes:
        """The next whole reply, as it came on the wire."""
        while True:
            end = _reply_end(self.buf, 0)
            if end is not None:
                out, self.buf = self.buf[:end], self.buf[end:]
                return out
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed by the server (buffered {self.buf!r})")
            self.buf += chunk

    def closed(self) -> bool:
        """Whether the server closed the socket (after what it sent)."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, TimeoutError):
            return True

    def close(self) -> None:
        self.sock.close()


def _reply_end(buf: bytes, pos: int) -> int | None:
    line_end = buf.find(b"\r\n", pos)
    if line_end < 0:
        return None
    kind, head = buf[pos : pos + 1], buf[pos + 1 : line_end]
    after = line_end + 2
    if kind in b"+-:_,#(":
        return after
    if kind in b"$=!":
        size = int(head)
        if size < 0:
            return after
        return after + size + 2 if len(buf) >= after + size + 2 else None
    if kind in b"*~>%|":
        count = int(head)
        if count < 0:
            return after
        if kind in b"%|":
            count *= 2
        for _ in range(count):
            found = _reply_end(buf, after)
            if found is None:
                return None
            after = found
        return after
    raise ValueError(f"not a RESP reply at {pos}: {buf[pos : pos + 20]!r}")
