"""Step logs over REST and in the UI are read in bounded pieces: a default read is a capped tail that says
so, ranges and offsets are honoured, and a whole log comes as a stream. Memory is checked by what the
server allocates (``tracemalloc``; the real uvicorn server runs in this process), not by timing."""

from __future__ import annotations

import threading
import tracemalloc

import httpx
import pytest

from headrace.server.logs import LOG_TAIL_BYTES

MiB = 1024 * 1024


@pytest.fixture
def big_log(live, published) -> tuple[str, bytes]:
    """A finished echo run whose stdout is replaced by 20 MiB of numbered lines: (run id, the bytes)."""
    r = live.client("submitter").post(f"/pipelines/{published}/submit",
                                      json={"ExperimentName": "logs", "ParameterAssignments": {"tag": "big"}})
    run_id = r.json()["Id"]
    assert live.wait_run(run_id)["Status"] == "Finished"
    step = live.svc.store.list_step_runs(run_id)[0]
    data = b"".join(b"line %08d of a long log: \xc3\xa9t\xc3\xa9\n" % i for i in range(20 * MiB // 36))
    live.svc.artifacts.write_bytes(f"logs/{run_id}/{step.id}/stdout.txt", data)
    return run_id, data


def test_rest_log_default_is_a_capped_tail_that_says_so(live, big_log):
    run_id, data = big_log
    r = live.client("reader").get(f"/runs/{run_id}/steps/echo/logs")
    assert r.status_code == 200
    assert len(r.content) <= LOG_TAIL_BYTES and data.endswith(r.content)
    assert r.content.startswith(b"line ")  # a whole first line
    assert r.headers["X-Log-Size"] == str(len(data)) and r.headers["X-Log-Truncated"] == "true"
    assert r.headers["X-Log-Start"] == str(len(data) - len(r.content)) and r.headers["Accept-Ranges"] == "bytes"
    small = live.client("reader").get(f"/runs/{run_id}/steps/echo/logs", params={"log": "stderr"})
    assert small.text == "echo stderr\n" and small.headers["X-Log-Truncated"] == "false"


def test_rest_log_ranges_offsets_and_tail(live, big_log):
    run_id, data = big_log
    c = live.client("reader")
    url = f"/runs/{run_id}/steps/echo/logs"
    r = c.get(url, headers={"Range": "bytes=100-199"})
    assert (r.status_code, r.content) == (206, data[100:200])
    assert r.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    r = c.get(url, headers={"Range": "bytes=-50"})
    assert (r.status_code, r.content) == (206, data[-50:])
    r = c.get(url, headers={"Range": f"bytes={len(data) + 5}-"})
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{len(data)}"
    r = c.get(url, params={"offset": 1000, "maxBytes": 5000})
    assert r.content == data[1000:6000] and r.headers["X-Log-End"] == "6000"
    assert r.headers["X-Log-Truncated"] == "false"
    r = c.get(url, params={"tail": 3})
    assert r.content == b"".join(data.splitlines(keepends=True)[-3:])
    r = c.get(url, params={"offset": len(data)})
    assert r.content == b"" and r.headers["X-Log-End"] == str(len(data))
    with c.stream("GET", url, headers={"Range": "bytes=0-"}) as whole:
        assert whole.status_code == 206 and whole.headers["Content-Length"] == str(len(data))
        assert b"".join(whole.iter_bytes()) == data


def test_parallel_log_reads_allocate_little(live, big_log):
    """Six parallel reads of a 20 MiB log took 6 x (bytes + text) on the server (1.1 GiB for 100 MiB logs)."""
    run_id, data = big_log
    url = f"{live.url}/api/v1/runs/{run_id}/steps/echo/logs"
    headers = {"Authorization": f"Bearer {live.tokens['reader']}"}
    sizes: list[int] = []

    def read(whole: bool) -> None:
        extra = {"Range": "bytes=0-"} if whole else {}
        with httpx.stream("GET", url, headers={**headers, **extra}, timeout=60) as r:
            sizes.append(sum(len(chunk) for chunk in r.iter_bytes()))  # never held whole by the client

    tracemalloc.start()
    try:
        threads = [threading.Thread(target=read, args=(k % 3 == 0,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sorted(sizes)[-1] == len(data) and len(sizes) == 6
    assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB for six reads of a {len(data) / MiB:.0f} MiB log"


def test_ui_log_default_and_live_tail_are_capped(live, big_log):
    run_id, data = big_log
    c = httpx.Client(base_url=live.url, timeout=30)
    live.clients.append(c)
    c.get("/signin")
    c.post("/signin", data={"token": live.tokens["reader"], "csrf": c.cookies["headrace_signin_csrf"]})
    full = c.get(f"/runs/{run_id}/steps/echo/logs/stdout")
    assert full.status_code == 200 and len(full.content) <= LOG_TAIL_BYTES + 200
    first, rest = full.content.split(b"\n", 1)
    assert b"not shown" in first and b"Range" in first and data.endswith(rest)
    assert full.headers["X-Log-Truncated"] == "true"
    part = c.get(f"/runs/{run_id}/steps/echo/logs/stdout", params={"offset": 0})
    assert part.headers["X-Log-Reset"] == "1" and len(part.content) <= 256 * 1024
    assert data.endswith(part.content) and part.headers["X-Log-Offset"] == str(len(data))
    more = c.get(f"/runs/{run_id}/steps/echo/logs/stdout", params={"offset": len(data) - 36})
    assert more.content == data[-36:] and more.headers["X-Log-Reset"] == "0"


def test_the_remote_sdk_reads_a_whole_big_log(live, big_log):
    from headrace.client import HeadraceClient

    run_id, data = big_log
    with HeadraceClient(live.url, live.tokens["reader"]) as client:
        assert client.step_log(run_id, "echo") == data.decode()
        assert client.step_log(run_id, "echo", "stderr") == "echo stderr\n"
        assert client.step_log(run_id, "echo", tail=1) == data.decode().splitlines(keepends=True)[-1]
