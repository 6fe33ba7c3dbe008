"""Step logs read in bounded pieces, for the REST route and the UI: a log may be gigabytes.

A log is opened once (its size fixed then: a running step's later lines wait for the next read) and
read by byte windows: a tail (default, capped at ``LOG_TAIL_BYTES``), a ``Range`` (streamed in
``CHUNK``-sized pieces, however long), an ``offset`` page (``maxBytes`` at most), or the last N lines.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO

from fastapi.responses import Response, StreamingResponse

from headrace.services import runs as run_service
from headrace.services.bundle import Services
from headrace.storage.records import StepRunRecord

LOG_TAIL_BYTES = 1024 * 1024
"""Most bytes a log read without a range, offset or tail returns: the end of the log, from a line start."""
MAX_PAGE_BYTES = 16 * 1024 * 1024
"""Largest ``maxBytes`` of an ``offset`` read (a ``Range`` may ask for more: it is streamed)."""
CHUNK = 64 * 1024
TAIL_DOC = "Only the last N lines (within the last 1 MiB)."
OFFSET_DOC = "Read from this byte offset, at most `maxBytes` bytes (default 1 MiB); `X-Log-End` is the next offset."
RANGE_DOC = "`bytes=A-B`, `bytes=A-` or `bytes=-N`: answered 206, streamed whatever its length (416 beyond the end)."
_HEADERS = {
    "X-Log-Size": {"description": "The log's size in bytes when read.", "schema": {"type": "integer"}},
    "X-Log-Start": {"description": "Byte offset of the first byte sent.", "schema": {"type": "integer"}},
    "X-Log-End": {"description": "Byte offset after the last byte sent.", "schema": {"type": "integer"}},
    "X-Log-Truncated": {"description": "`true` when the default 1 MiB cap left earlier bytes out.",
                        "schema": {"type": "string", "enum": ["true", "false"]}},
}
_TEXT_CONTENT = {"text/plain": {"schema": {"type": "string"}}}
RESPONSES: dict[int | str, dict] = {
    200: {"content": _TEXT_CONTENT, "description": "The log text (or its last 1 MiB).", "headers": _HEADERS},
    206: {"content": _TEXT_CONTENT, "description": "The bytes of the `Range` asked for.", "headers": _HEADERS},
    416: {"description": "The `Range` starts past the end (`Content-Range: bytes */size`)."},
}
TEXT = "text/plain; charset=utf-8"


class LogFile:
    """A step's log opened for reading by byte offsets (an empty one when the step has none yet)."""

    def __init__(self, svc: Services, step: StepRunRecord, which: str):
        path = run_service.step_log_path(svc, step, which)
        local = svc.artifacts.local_path(path) if path else None
        self._file: BinaryIO
        if path is None:
            self._file = io.BytesIO()
        elif local is not None:
            self._file = open(local, "rb")  # noqa: SIM115 - closed by close() or at the stream's end
        else:  # an object store: one object read (logs are kept locally by default)
            self._file = io.BytesIO(svc.artifacts.read_bytes(path))
        self.size = self._file.seek(0, io.SEEK_END)

    def close(self) -> None:
        self._file.close()

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``; callers keep the window small."""
        self._file.seek(start)
        return self._file.read(max(0, end - start))

    def stream(self, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``[start, end)`` in ``CHUNK`` pieces; closes the file at the end."""
        try:
            while start < end:
                piece = self.read(start, min(end, start + CHUNK))
                if not piece:
                    return
                start += len(piece)
                yield piece
        finally:
            self.close()

    def tail_start(self, max_bytes: int, lines: int | None = None) -> tuple[int, bool]:
        """Where the tail starts, and whether the cap cut it: the last ``lines`` lines (all of them
        when None) within the last ``max_bytes``, from a line start when the cap cuts."""
        floor = max(0, self.size - max_bytes)
        if lines is not None:
            found = self._newline_before_end(lines, floor)
            if found is not None:
                return found, False
        if floor == 0:
            return 0, False
        ahead = self.read(floor - 1, min(self.size, floor + CHUNK))
        newline = ahead.find(b"\n")
        return (floor + newline if newline >= 0 else floor), True

    def _newline_before_end(self, lines: int, floor: int) -> int | None:
        """The start of the last ``lines`` lines, if it is at or after ``floor``."""
        if lines <= 0:
            return self.size
        pos = self.size - 1  # a final newline ends the last line; it does not start one
        while pos > floor:
            block_start = max(floor, pos - CHUNK)
            block = self.read(block_start, pos)
            index = len(block)
            while (index := block.rfind(b"\n", 0, index)) >= 0:
                lines -= 1
                if lines == 0:
                    return block_start + index + 1
            pos = block_start
        return 0 if floor == 0 else None


def log_response(svc: Services, step: StepRunRecord, which: str, *, range_header: str | None, offset: int | None,
                 max_bytes: int | None, tail: int | None, headers: dict[str, str] | None = None) -> Response:
    """The REST answer for a log read (see ``routers.runs.step_log`` for the parameters)."""
    log = LogFile(svc, step, which)
    size = log.size
    extra = {"Accept-Ranges": "bytes", "X-Log-Size": str(size), **(headers or {})}
    window = parse_range(range_header, size) if range_header and offset is None and tail is None else None
    if window == "unsatisfiable":
        log.close()
        return Response(status_code=416, headers={**extra, "Content-Range": f"bytes */{size}"})
    status, truncated = 200, False
    if isinstance(window, tuple):
        status, (start, end) = 206, window
        extra["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    elif offset is not None:
        start = min(offset, size)
        end = min(size, start + (max_bytes or LOG_TAIL_BYTES))
    else:
        (start, truncated), end = log.tail_start(LOG_TAIL_BYTES, tail), size
    extra.update({"X-Log-Start": str(start), "X-Log-End": str(end), "X-Log-Truncated": str(truncated).lower(),
                  "Content-Length": str(end - start)})
    return StreamingResponse(log.stream(start, end), status_code=status, media_type=TEXT, headers=extra)


def parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """``[start, end)`` of a single ``bytes=`` range; "unsatisfiable"; or None to ignore the header
    (several ranges, or not a byte range: the whole answer is sent, as RFC 9110 allows)."""
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.strip().isdigit() or last.strip().isdigit()):
        return None
    if not first.strip():
        suffix = int(last)
        return (max(0, size - suffix), size) if suffix > 0 and size > 0 else "unsatisfiable"
    start = int(first)
    end = min(size, int(last) + 1) if last.strip() else size
    if last.strip() and int(last) < start:
        return None
    return (start, end) if start < size else "unsatisfiable"
