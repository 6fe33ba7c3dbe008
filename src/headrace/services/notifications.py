"""Notifications through Apprise (``apprise_url=`` subscriptions): a short message a person reads.

The message names the run (its experiment and id), its status, the tail of its error and a link to its
page; other events get their type and main fields. Apprise is the ``notify`` extra.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from headrace.services.delivery import Attempt

__all__ = ["render", "send"]

ERROR_TAIL = 400


def render(payload: Mapping[str, Any], base_url: str | None) -> tuple[str, str]:
    """(title, body) of the notification for one event message."""
    kind = str(payload.get("type", "event"))
    data = payload.get("data") or {}
    if kind.startswith(("run.", "step.")):
        name = data.get("description") or data.get("experiment_name") or "run"
        status = data.get("status") or kind.split(".", 1)[1].capitalize()
        title = f"headrace: {name} {status}" if kind.startswith("run.") else f"headrace: step {data.get('step_name')} failed"
        lines = [f"Run {data.get('run_id')} of experiment {data.get('experiment_name')}: {status}"]
        if data.get("step_name"):
            lines.append(f"Step: {data['step_name']}")
        if data.get("error"):
            lines.append("Error: " + str(data["error"])[-ERROR_TAIL:])
        if base_url and data.get("run_id"):
            lines.append(f"{base_url.rstrip('/')}/runs/{data['run_id']}")
        return title, "\n".join(lines)
    fields = ", ".join(f"{k}={v}" for k, v in data.items() if isinstance(v, str | int | float) and v != "")
    return f"headrace: {kind}", fields[:1000] or kind


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Apprise loads its plugins lazily, and some import deprecated standard modules: not ours to fix."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def load_apprise() -> Any:
    """The ``apprise`` module. Raises: ImportError when the ``notify`` extra is not installed."""
    with quiet():
        import apprise
    return apprise


def send(apprise_url: str, payload: Mapping[str, Any], base_url: str | None) -> Attempt:
    """Notify through Apprise; never raises."""
    started = time.monotonic()
    try:
        apprise = load_apprise()
    except ImportError:
        return Attempt(False, None, 0.0, "Apprise is not installed: pip install 'headrace[notify]'", final=True)
    title, body = render(payload, base_url)
    sender = apprise.Apprise()
    with quiet():
        known = sender.add(apprise_url)
    if not known:
        return Attempt(False, None, 0.0, "Apprise does not understand this URL", final=True)
    try:
        with quiet():
            ok = bool(sender.notify(title=title, body=body))
    except Exception as exc:  # a plugin's own failure: recorded, retried
        return Attempt(False, None, (time.monotonic() - started) * 1000, f"{type(exc).__name__}: {exc}"[:500])
    latency = (time.monotonic() - started) * 1000
    return Attempt(ok, None, latency, None if ok else "Apprise could not deliver the notification")
