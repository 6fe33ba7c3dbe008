"""The step fork server: a warm, idle Python interpreter that forks one child per step.

Run as a plain script by ``headrace.engine.launcher`` (never imported by headrace, and it imports
only the standard library): each child is a fresh fork of an interpreter that has done its
start-up work already, so a step skips the ~10-15 ms of interpreter start a new process pays.

Protocol, JSON lines over the socket whose descriptor is ``argv[1]``:

- request ``{"id", "argv": [script, args...], "cwd", "env", "stdout", "stderr"}``; the log files
  exist already (the agent created them). The child makes its own session, points fds 0-2 at
  ``/dev/null`` and the two files, sets ``os.environ``, ``sys.argv`` and ``sys.path[0]``, and runs
  the script as ``__main__``; only then does the server answer ``{"id", "pid"}`` (or
  ``{"id", "error"}``), so the agent can always signal the child's process group.
- ``{"exit": pid, "code": returncode}`` when a child ends (negative: killed by that signal).

The server exits when the socket closes (its agent ended); running children keep running, as
steps started with a plain ``Popen`` would.
"""

import importlib.machinery
import json
import os
import select
import signal
import socket
import sys


def _run_child(req, ready_w):
    """In the forked child: set the process up like ``python script.py`` would, run, exit."""
    try:
        os.setsid()
        os.chdir(req["cwd"])
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(req["stdout"], os.O_WRONLY | os.O_APPEND)
        err = os.open(req["stderr"], os.O_WRONLY | os.O_APPEND)
        for fd, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
            os.close(fd)
        os.environ.clear()
        os.environ.update(req["env"])
        script = os.path.abspath(req["argv"][0])  # as python does for __file__ and tracebacks
        with open(script, "rb") as f:
            code = compile(f.read(), script, "exec")
    except BaseException as exc:  # noqa: BLE001 - reported to the agent, which fails the step
        os.write(ready_w, f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")[:4000])
        os._exit(127)
    os.close(ready_w)  # tells the server the child is set up (its session exists)
    sys.argv = list(req["argv"])
    sys.path[0] = os.path.dirname(script)
    main = type(sys)("__main__")
    main.__file__ = script
    main.__builtins__ = __builtins__
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", script)
    sys.modules["__main__"] = main
    status = 0
    try:
        exec(code, main.__dict__)
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except BaseException:  # noqa: BLE001 - printed like the interpreter does, without this frame
        kind, value, tb = sys.exc_info()
        tb = tb.tb_next if tb is not None else None
        sys.excepthook(kind, value.with_traceback(tb), tb)
        status = 1
    status = _shutdown(status)
    os._exit(status)


def _exit_status(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        print(code, file=sys.stderr)
    except Exception:  # noqa: BLE001
        pass
    return 1


def _shutdown(status):
    """What interpreter exit does: join non-daemon threads, run atexit callbacks, flush."""
    try:
        if "threading" in sys.modules:
            sys.modules["threading"]._shutdown()
        import atexit

        atexit._run_exitfuncs()
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except BaseException:  # noqa: BLE001
        sys.excepthook(*sys.exc_info())
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    return status


class _Server:
    def __init__(self, sock):
        self.sock = sock
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def send(self, message):
        self.sock.sendall((json.dumps(message) + "\n").encode())

    def launch(self, req):
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(ready_r)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            for fd in (self.wake_r, self.wake_w):
                os.close(fd)
            self.sock.close()
            _run_child(req, ready_w)
        os.close(ready_w)
        chunks = []
        while chunk := os.read(ready_r, 4096):
            chunks.append(chunk)
        os.close(ready_r)
        if chunks:
            self.send({"id": req["id"], "error": b"".join(chunks).decode("utf-8", "replace"), "pid": pid})
        else:
            self.send({"id": req["id"], "pid": pid})

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.send({"exit": pid, "code": os.waitstatus_to_exitcode(status)})

    def serve(self):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the agent; we end with it
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        buf = b""
        while True:
            ready, _, _ = select.select([self.sock, self.wake_r], [], [])
            if self.wake_r in ready:
                while True:
                    try:
                        if not os.read(self.wake_r, 512):
                            break
                    except BlockingIOError:
                        break
            self.reap()
            if self.sock in ready:
                data = self.sock.recv(1 << 16)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self.launch(json.loads(line))
                self.reap()


if __name__ == "__main__":
    try:
        _Server(socket.socket(fileno=int(sys.argv[1]))).serve()
    except (BrokenPipeError, ConnectionResetError):
        pass
    # Nothing to flush or tear down: exiting at once saves the agent's exit the wait on our interpreter's.
    os._exit(0)
