"""``headrace flow serve``: one flow behind ``POST /score``, served by real uvicorn on loopback against the fake
OpenAI-compatible model; the last test starts the real CLI process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from headrace import __version__
from headrace.errors import NotFoundError
from headrace.flows.connections import Connection
from headrace.flows.executor import load_flow
from headrace.flows.llm_node import OpenAIRunner
from headrace.server.errors import NotAcceptableError
from headrace.server.flow_app import create_flow_app, negotiate

FLOW = {
    "flow.yaml": """\
        description: Greets, then answers
        inputs:
          question: {type: string, is_chat_input: true}
          name: {type: string, default: world}
          count: {type: int, default: 2}
        outputs:
          greeting: {type: string, reference: "${greet.output}"}
          answer: {type: string, reference: "${answer.output}", is_chat_output: true}
        nodes:
        - name: greet
          type: python
          source: {type: code, path: tools.py}
          inputs: {name: "${inputs.name}", count: "${inputs.count}"}
        - name: answer
          type: llm
          source: {type: code, path: answer.jinja2}
          connection: llm
          inputs: {model: gpt-4o-mini, question: "${inputs.question}", greeting: "${greet.output}"}
        """,
    "tools.py": """\
        from headrace.flows import tool

        @tool
        def greet(name: str, count: int) -> str:
            if count < 0:
                raise ValueError("count must not be negative")
            return " ".join([f"hello {name}"] * count)
        """,
    "answer.jinja2": """\
        # system:
        You answer briefly.
        # user:
        {{greeting}}: {{question}}
        """,
}

ONE_INPUT = {
    "flow.yaml": """\
        inputs:
          text: {type: string}
        outputs:
          shout: {reference: "${upper.output}"}
        nodes:
        - {name: upper, type: python, source: tools.py, inputs: {text: "${inputs.text}"}}
        """,
    "tools.py": """\
        from headrace.flows import tool

        @tool
        def upper(text: str) -> str:
            return text.upper()
        """,
}


async def _no_sleep(_seconds: float) -> None:
    """Retries of the fake's 500s need no real backoff."""


def runner(fake_llm) -> OpenAIRunner:
    def lookup(name: str) -> Connection:
        if name != "llm":
            raise NotFoundError("connection", name)
        return Connection(name="llm", type="openai", base_url=fake_llm.base_url, api_key="test-key")

    return OpenAIRunner(lookup, sleep=_no_sleep, environ={})


@pytest.fixture
def served(write_flow, fake_llm, serve_app) -> Iterator[httpx.Client]:
    """An httpx client of the greet-and-answer flow served on loopback."""
    app = create_flow_app(load_flow(write_flow("greet", FLOW)), runner(fake_llm))
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def sse_events(response: httpx.Response) -> list[tuple[str, dict]]:
    """(event type, data) of each Server-Sent Event of a streamed answer."""
    events, kind = [], "message"
    for line in response.iter_lines():
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            events.append((kind, json.loads(line[5:])))
        elif not line:
            kind = "message"
    return events


def test_score_answers_the_outputs_as_json(served, fake_llm):
    r = served.post("/score", json={"question": "what is a headrace?", "name": "Ada", "count": "1"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"greeting": "hello Ada", "answer": "echo: hello Ada: what is a headrace?"}
    sent = fake_llm.last.messages
    assert [m["role"] for m in sent] == ["system", "user"]
    assert sent[1]["content"] == "hello Ada: what is a headrace?"
    assert fake_llm.last.body["model"] == "gpt-4o-mini" and not fake_llm.last.body.get("stream")


def test_score_streams_server_sent_events_in_order(served, fake_llm):
    fake_llm.script(["A head", "race is ", "a channel", "."])
    with served.stream("POST", "/score", json={"question": "what?"}, headers={"Accept": "text/event-stream"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
        events = sse_events(r)
    assert events == [
        ("message", {"greeting": "hello world hello world"}),
        ("message", {"answer": "A head"}), ("message", {"answer": "race is "}),
        ("message", {"answer": "a channel"}), ("message", {"answer": "."}),
    ]
    assert fake_llm.last.body["stream"] is True


def test_missing_or_bad_input_is_a_400_naming_it(served, fake_llm):
    r = served.post("/score", json={"name": "Ada"})
    assert r.status_code == 400
    body = r.json()["error"]
    assert body["code"] == "UserError" and "'question'" in body["message"] and "missing" in body["message"]
    r = served.post("/score", json={"question": "q", "count": "many"})
    assert r.status_code == 400 and "'count'" in r.json()["error"]["message"]
    r = served.post("/score", json={"question": "q", "colour": "red"})
    assert r.status_code == 400 and "'colour'" in r.json()["error"]["message"]
    r = served.post("/score", content=b"just text")  # two inputs: the body must be a JSON object
    assert r.status_code == 400 and "question, name, count" in r.json()["error"]["message"]
    r = served.post("/score", content=b'{"question": "a \\udc80 b"}')  # parses, but is no text
    assert r.status_code == 400 and "lone UTF-16 surrogate" in r.json()["error"]["message"]
    assert fake_llm.requests == []  # nothing ran


def test_accept_that_allows_neither_json_nor_sse_is_406(served, fake_llm):
    r = served.post("/score", json={"question": "q"}, headers={"Accept": "text/html"})
    assert r.status_code == 406
    assert r.json()["error"]["code"] == "UserError" and "text/html" in r.json()["error"]["message"]
    assert fake_llm.requests == []


@pytest.mark.parametrize("accept, expected", [
    (None, "json"), ("", "json"), ("*/*", "json"), ("application/json", "json"), ("text/event-stream", "sse"),
    ("text/event-stream, application/json", "sse"), ("application/json, text/event-stream;q=0.5", "json"),
    ("text/*", "sse"), ("application/*, text/event-stream;q=0", "json"),
])
def test_negotiate(accept, expected):
    assert negotiate(accept) == expected


@pytest.mark.parametrize("accept", ["text/html", "application/xml, text/event-stream;q=0", "*/*;q=0"])
def test_negotiate_refuses(accept):
    with pytest.raises(NotAcceptableError):
        negotiate(accept)


def test_model_api_failure_is_a_424(served, fake_llm):
    fake_llm.fail_next(4, status=500)  # the first try and its 3 retries
    r = served.post("/score", json={"question": "q"})
    assert r.status_code == 424
    body = r.json()["error"]
    assert body["code"] == "SystemError" and "'answer'" in body["message"]
    assert len(fake_llm.requests) == 4


def test_failing_tool_is_a_500_naming_the_node(served, fake_llm):
    r = served.post("/score", json={"question": "q", "count": -1})
    assert r.status_code == 500
    body = r.json()["error"]
    assert body["code"] == "UserError"  # the flow's own code raised
    assert "'greet'" in body["message"] and "count must not be negative" in body["message"]
    assert fake_llm.requests == []


def test_health_and_form(served):
    assert served.get("/health").json() == {"status": "Healthy", "version": __version__}
    page = served.get("/")
    assert page.status_code == 200 and "Greets, then answers" in page.text and "&quot;world&quot;" in page.text


def test_single_input_flow_takes_a_plain_body(write_flow, serve_app):
    app = create_flow_app(load_flow(write_flow("one", ONE_INPUT)), None)
    with serve_app(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.post("/score", content=b"plain words").json() == {"shout": "PLAIN WORDS"}
        assert client.post("/score", content=b'"a json string"').json() == {"shout": "A JSON STRING"}
        assert client.post("/score", json={"text": "keyed"}).json() == {"shout": "KEYED"}
        r = client.post("/score", content=b"")
        assert r.status_code == 400 and "'text'" in r.json()["error"]["message"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cli_serves_the_flow_with_connections_from_the_environment(write_flow, fake_llm, tmp_path: Path):
    folder = write_flow("greet-cli", FLOW)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    env.update(HEADRACE_CONNECTION_LLM_BASE_URL=fake_llm.base_url, HEADRACE_CONNECTION_LLM_API_KEY="k")
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "headrace", "flow", "serve", str(folder), "--port", str(port),
                                 "--home", str(tmp_path / "home"), "--log-level", "warning"],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"flow serve did not start: {log.read_text()}")
            time.sleep(0.05)
        r = httpx.post(f"{url}/score", json={"question": "from the CLI"}, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["answer"] == "echo: hello world hello world: from the CLI"
        assert fake_llm.last.headers["authorization"] == "Bearer k"
        # No token here either: web pages may not drive it (foreign Host: DNS rebinding; foreign Origin).
        assert httpx.get(f"{url}/health", headers={"Host": "evil.example"}).status_code == 400
        foreign = httpx.post(f"{url}/score", content=b'{"question": "q"}', timeout=30,
                             headers={"Origin": "http://evil.example", "Content-Type": "text/plain"})
        assert foreign.status_code == 403, foreign.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "serving flow greet-cli on http://127.0.0.1:" in log.read_text()


def test_an_error_after_streaming_began_is_the_last_event():
    import asyncio

    from headrace.errors import LLMError
    from headrace.server.flow_app import _events, flow_error_body

    closed = []

    async def cut_short():
        try:
            yield "partial "
            raise LLMError("the connection dropped mid-answer", node="answer")
        finally:
            closed.append(True)

    async def collect() -> list[str]:
        return [event async for event in _events({"greeting": "hi"}, {"answer": cut_short()}, flow_error_body)]

    events = asyncio.run(collect())
    assert events[:2] == ['data: {"greeting": "hi"}\n\n', 'data: {"answer": "partial "}\n\n']
    assert events[2].startswith("event: error\ndata: ")
    assert json.loads(events[2].split("data: ", 1)[1]) == {
        "error": {"code": "SystemError", "message": "node 'answer': the connection dropped mid-answer"}}
    assert closed == [True]
