"""A fast webhook receiver for ``benchmarks/events.py``, run as its own process (no GIL shared with the
sender): answers 204 to every POST and appends, for each message that is not a backlog filler, one JSON
line with the time it arrived.

    python benchmarks/_webhook_receiver.py PORT LOGFILE
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
COUNT = [0]


def main() -> None:
    port, logfile = int(sys.argv[1]), sys.argv[2]
    log = open(logfile, "a", buffering=1)  # noqa: SIM115 - lives as long as the process

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            now = time.time()
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()
            with LOCK:
                COUNT[0] += 1
            if b'"filler"' not in body:
                message = json.loads(body)
                log.write(json.dumps({"t": now, "type": message["type"], "data": message["data"]}) + "\n")

        def do_GET(self) -> None:  # noqa: N802 - the count, for the sender
            payload = str(COUNT[0]).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
