"""The local socket of a home's resident agent: where it is and how a message crosses it.

A resident agent (``headrace agent``) listens on a Unix socket of its home; a script's embedded
``Workspace(home)`` hands its runs to it there instead of starting an agent of its own, so the script
imports neither SQLAlchemy nor the engine. Only processes of the agent's own OS user may connect: the
socket is private (mode 0600) and each side checks the other's user id (``SO_PEERCRED``), which is
why messages may be pickles (a peer of the same user could run any code as that user anyway).

Kept to the standard library: a script pays for this module's imports on every start.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import socket
import struct
from pathlib import Path
from typing import Any

_HEADER = struct.Struct("!I")
_MAX_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS
MAX_MESSAGE = 256 << 20


class PeerError(OSError):
    """The other side is not a process of this OS user, or broke the protocol."""


def socket_path(home: Path) -> Path:
    """``<home>/agent.sock``; for a home whose path is too long for a socket, one named by the home's hash in a
    private folder of this user under ``/tmp`` (not ``$TMPDIR``, which may be as long: macOS's is)."""
    own = home / "agent.sock"
    if len(os.fsencode(own)) <= _MAX_PATH:
        return own
    digest = hashlib.sha256(os.fsencode(home)).hexdigest()[:24]
    return Path("/tmp") / f"headrace-{os.getuid()}" / f"{digest}.sock"  # noqa: S108 - checked private


def prepare_folder(path: Path, home: Path) -> None:
    """Make the socket's folder when it is not the home: private to this user, refusing one another user owns
    or may enter (a socket there could be swapped for another's)."""
    folder = path.parent
    if folder == home:
        return
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = folder.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PeerError(f"{folder} is not a private folder of this user (owner {st.st_uid}, mode {st.st_mode & 0o777:o})")


def check_peer(sock: socket.socket) -> None:
    """Refuse a peer process of another OS user (Linux ``SO_PEERCRED``; elsewhere the socket's mode guards)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return
    creds = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    if uid != os.getuid():
        raise PeerError(f"a process of user id {uid} is on the other side of the agent's socket")


def send(sock: socket.socket, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)) + data)


def receive(sock: socket.socket) -> Any:
    """The next message; ``EOFError`` when the peer closed the connection."""
    (size,) = _HEADER.unpack(_read(sock, _HEADER.size))
    if size > MAX_MESSAGE:
        raise PeerError(f"a message of {size} bytes on the agent's socket (at most {MAX_MESSAGE})")
    return pickle.loads(_read(sock, size))  # noqa: S301 - the peer is a process of this user (check_peer)


def _read(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the agent's socket")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def error_message(exc: BaseException) -> tuple[str, str, tuple, dict]:
    """An exception as it crosses the socket: pickling would call its class with ``args``, which headrace's
    errors with their own ``__init__`` do not take."""
    return type(exc).__module__, type(exc).__qualname__, exc.args, dict(vars(exc))


def rebuild_error(message: tuple[str, str, tuple, dict]) -> Exception:
    """The exception ``error_message`` described, as its own class when that is one of headrace's errors."""
    import importlib

    from headrace.errors import HeadraceError

    module, name, args, attributes = message
    cls: type = HeadraceError
    try:
        found = getattr(importlib.import_module(module), name)
        if isinstance(found, type) and issubclass(found, HeadraceError):
            cls = found
    except (ImportError, AttributeError):
        pass
    exc = cls.__new__(cls)
    exc.args = tuple(args)
    vars(exc).update(attributes)
    return exc
