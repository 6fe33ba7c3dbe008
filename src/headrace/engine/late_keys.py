"""A step's reuse key taken while the step runs, when nothing can be reused before it starts.

A step that cannot be reused (``regenerate_outputs``, ``allow_reuse=False``) still records its key, so that later
runs can reuse it; fingerprinting its inputs (a 10,000-file folder: 30-300 ms) need not delay its start. Its local
folder inputs are fingerprinted on a thread while its process starts (``RunState._run_job``).

A key taken late must still describe what the step read: it is recorded only when no file or folder of those
inputs changed since :data:`~headrace.datastores.content_hashes.RACY_SECONDS` before the step started (else the
step run is not reusable: it could have read either version). A change after the fingerprint goes unseen, as a
change after an up-front fingerprint does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from headrace.datastores.content_hashes import RACY_SECONDS
from headrace.datastores.fingerprint import local_folder_fingerprint
from headrace.engine.tasks import describe_fingerprint
from headrace.errors import HeadraceError

if TYPE_CHECKING:
    from headrace.datastores.base import Datastore


class LateKey:
    """The inputs left to fingerprint, and how to make the key once they are (``key(fingerprints)``)."""

    def __init__(self, later: dict[str, tuple[Datastore, str, str]], early: dict[str, str],
                 key: Callable[[dict[str, str]], str], small_file_bytes: int):
        self.later = later
        self.early = early
        self._key = key
        self.small_file_bytes = small_file_bytes
        self.lines: list[str] = []  # for the execution log
        self.fingerprints: dict[str, str] | None = None
        self.reuse_key: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Fingerprint on a thread, from now: call just before the step's process is started."""
        started_ns = time.time_ns()
        self._thread = threading.Thread(target=self._run, args=(started_ns,), name="late-key", daemon=True)
        self._thread.start()

    def wait(self) -> tuple[str | None, dict[str, str] | None]:
        """(reuse key, input fingerprints) once taken; (None, None) when the inputs could not vouch for the step."""
        if self._thread is not None:
            self._thread.join()
        return self.reuse_key, self.fingerprints

    def _run(self, started_ns: int) -> None:
        fingerprints = dict(self.early)
        settled_before = started_ns - RACY_SECONDS * 1e9
        try:
            for name, (ds, ds_name, path) in self.later.items():
                fp, changed_ns = local_folder_fingerprint(ds, path, self.small_file_bytes)
                self.lines.append(f"input {name} fingerprint (taken while the step ran): {describe_fingerprint(fp)}")
                if changed_ns > settled_before:
                    self.lines.append(f"input {name} changed {(changed_ns - started_ns) / 1e9:+.3f}s from the step's "
                                      "start: no reuse key (the step may have read either version)")
                    return
                fingerprints[name] = f"{ds_name}:{path}:{fp['digest']}"
            self.fingerprints = fingerprints
            self.reuse_key = self._key(fingerprints)
            self.lines.append(f"reuse key: {self.reuse_key}")
        except HeadraceError as exc:
            self.lines.append(f"could not fingerprint the inputs while the step ran: {exc}; no reuse key")
        except Exception as exc:  # noqa: BLE001 - a bug here must not fail the step; it is only not reusable
            self.lines.append(f"could not take the reuse key: {exc!r}; no reuse key")
