"""A real HTTP receiver on loopback for webhook tests: records every request; answers as told."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    answers: list[int] = field(default_factory=list)  # statuses to answer first, in turn; then ``status``
    hold: threading.Event | None = None  # set: requests wait for it before answering
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"received {len(self.requests)} request(s), expected {count}")
            return list(self.requests)


@contextlib.contextmanager
def receiver(**options: Any) -> Iterator[Receiver]:
    """A threaded HTTP server on 127.0.0.1 (port 0); yields its ``Receiver``."""
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            rec = box["r"]
            with rec.cond:
                rec.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                             time.monotonic()))
                status = rec.answers.pop(0) if rec.answers else rec.status
                rec.cond.notify_all()
            if rec.hold is not None:
                rec.hold.wait(60)
            payload = b"ok"
            try:
                self.send_response(status)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the sender died while we held its request (the kill -9 test)
                self.close_connection = True

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    box["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}", **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box["r"]
    finally:
        if box["r"].hold is not None:
            box["r"].hold.set()
        server.shutdown()
        server.server_close()
