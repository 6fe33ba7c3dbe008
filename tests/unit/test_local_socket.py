"""The resident agent's socket: where it is, and errors crossing it as their own classes."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from headrace import local_socket
from headrace.errors import DefinitionError, HeadraceError, NotFoundError, StepFailedError


def test_a_short_home_keeps_its_socket_inside():
    assert local_socket.socket_path(Path("/srv/home")) == Path("/srv/home/agent.sock")


def test_a_long_home_gets_a_private_folder_of_the_user(tmp_path):
    home = Path("/" + "long-folder/" * 12)
    path = local_socket.socket_path(home)
    assert path.parent == Path(f"/tmp/headrace-{os.getuid()}") and len(os.fsencode(path)) <= 100
    assert local_socket.socket_path(home) == path and local_socket.socket_path(home / "x") != path
    local_socket.prepare_folder(path, home)
    assert path.parent.stat().st_mode & 0o777 == 0o700
    shared = tmp_path / "shared" / "agent.sock"
    shared.parent.mkdir(mode=0o755)  # another user could enter and swap the socket
    shared.parent.chmod(0o755)
    with pytest.raises(local_socket.PeerError, match="not a private folder"):
        local_socket.prepare_folder(shared, home)


@pytest.mark.parametrize("error", [
    NotFoundError("datastore", "x", "registered datastores: a"),
    DefinitionError(["step 'a': one", "step 'b': two"]),
    StepFailedError("run1", "b", 3, "boom\n"),
    HeadraceError("plain"),
])
def test_errors_cross_the_socket_as_their_own_class(error):
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        local_socket.send(left, local_socket.error_message(error))
        again = local_socket.rebuild_error(local_socket.receive(right))
    assert type(again) is type(error) and str(again) == str(error) and vars(again) == vars(error)


def test_an_error_of_another_library_becomes_a_headrace_error():
    again = local_socket.rebuild_error(("json.decoder", "JSONDecodeError", ("bad",), {}))
    assert type(again) is HeadraceError and str(again) == "bad"


def test_a_closed_peer_and_an_oversized_message_are_refused():
    left, right = socket.socketpair(socket.AF_UNIX)
    with right:
        left.sendall((local_socket.MAX_MESSAGE + 1).to_bytes(4, "big"))
        with pytest.raises(local_socket.PeerError, match="at most"):
            local_socket.receive(right)
        left.close()
        with pytest.raises(EOFError):
            local_socket.receive(right)
