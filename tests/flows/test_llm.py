"""LLM calls through ``OpenAIRunner`` against the fake OpenAI-compatible server, over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fake_llm import FakeLLM

from headrace.errors import ConfigError, FlowNodeError, LLMError, NotFoundError
from headrace.flows.connections import Connection
from headrace.flows.llm import RetryPolicy, Timeouts
from headrace.flows.llm_node import LLMCall, LLMResult, LLMRunner, OpenAIRunner
from headrace.flows.templates import render_chat

TEMPLATE = "# system:\nYou answer in one word.\n# user:\n{{ question }}"
DEAD_URL = "http://127.0.0.1:9/v1"  # nothing listens on the discard port


class Sleeps:
    """An injectable ``sleep`` that records what it was asked and returns at once."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


def runner_for(conn: Connection, *, environ: dict[str, str] | None = None, retry: RetryPolicy | None = None,
               timeouts: Timeouts | None = None, sleeps: Sleeps | None = None) -> OpenAIRunner:
    def lookup(name: str) -> Connection:
        if name != conn.name:
            raise NotFoundError("connection", name)
        return conn

    return OpenAIRunner(lookup, environ=environ or {}, retry=retry or RetryPolicy(jitter=0),
                        timeouts=timeouts, sleep=sleeps or Sleeps())


def call(question: str = "What is the capital of France?", connection: str = "llm", *, stream: bool = False,
         **params: Any) -> LLMCall:
    params.setdefault("model", "gpt-4o-mini")
    params = {k: v for k, v in params.items() if v is not None}
    messages = render_chat(TEMPLATE, {"question": question}, origin="answer.jinja2")
    return LLMCall("answer", messages, connection, params, stream=stream)


def run(runner: OpenAIRunner, llm_call: LLMCall) -> LLMResult:
    return asyncio.run(runner.run(llm_call))


@pytest.fixture
def conn(fake_llm: FakeLLM) -> Connection:
    return Connection("llm", "openai", fake_llm.base_url, "sk-test-key-123")


def test_sends_the_messages_params_and_key_and_traces_server_usage(fake_llm: FakeLLM, conn: Connection) -> None:
    fake_llm.script("Paris")
    result = run(runner_for(conn), call(temperature=0.2, max_tokens=16, seed=7))
    assert result.output == "Paris"
    sent = fake_llm.last
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test-key-123"
    assert sent.body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "You answer in one word."},
                     {"role": "user", "content": "What is the capital of France?"}],
        "temperature": 0.2, "max_tokens": 16, "seed": 7,
    }
    trace = result.trace
    assert trace["messages"] == sent.body["messages"]
    assert (trace["model"], trace["attempts"], trace["retries"], trace["cut"]) == ("gpt-4o-mini", 1, [], [])
    # The fake counts words: 5 + 6 in the prompt, 1 in the answer.
    assert (trace["prompt_tokens"], trace["completion_tokens"], trace["usage_from"]) == (11, 1, "server")
    assert trace["counted_with"] == "o200k_base" and trace["counted_prompt_tokens"] > 11
    assert (trace["context_size"], trace["context_size_from"], trace["limit"]) == (128_000, "model table", 128_000 - 16)
    assert trace["latency_ms"] > 0
    assert "sk-test-key-123" not in repr(trace) and "sk-test-key-123" not in repr(conn)
    assert isinstance(runner_for(conn), LLMRunner)


def test_counts_tokens_itself_when_the_server_gives_no_usage(fake_llm: FakeLLM, conn: Connection) -> None:
    fake_llm.send_usage = False
    fake_llm.script("Paris is the capital")
    trace = run(runner_for(conn), call()).trace
    assert trace["usage_from"] == "counted"
    assert trace["prompt_tokens"] == trace["counted_prompt_tokens"]
    assert trace["completion_tokens"] == 4  # o200k_base: one token per word here


def test_environment_overrides_base_url_key_and_context_size(fake_llm: FakeLLM) -> None:
    stored = Connection("my-llm", "openai", DEAD_URL, "stored-key")
    environ = {"HEADRACE_CONNECTION_MY_LLM_BASE_URL": fake_llm.base_url,
               "HEADRACE_CONNECTION_MY_LLM_API_KEY": "env-key", "HEADRACE_CONNECTION_MY_LLM_CONTEXT_SIZE": "2048"}
    result = run(runner_for(stored, environ=environ), call(connection="my-llm"))
    assert result.output == "echo: What is the capital of France?"
    assert fake_llm.last.headers["authorization"] == "Bearer env-key"
    assert (result.trace["context_size"], result.trace["context_size_from"]) == (2048, "connection")


def test_a_connection_defined_by_the_environment_alone(fake_llm: FakeLLM, conn: Connection) -> None:
    environ = {"HEADRACE_CONNECTION_OTHER_BASE_URL": fake_llm.base_url, "HEADRACE_CONNECTION_OTHER_API_KEY": "k2"}
    result = run(runner_for(conn, environ=environ), call(connection="other"))
    assert result.trace["connection"] == "other"
    assert fake_llm.last.headers["authorization"] == "Bearer k2"


def test_unknown_connection_says_how_to_create_it(fake_llm: FakeLLM, conn: Connection) -> None:
    with pytest.raises(NotFoundError) as info:
        run(runner_for(conn), call(connection="nope"))
    assert (info.value.kind, info.value.key) == ("connection", "nope")
    assert "headrace connection create nope" in str(info.value) and "HEADRACE_CONNECTION_NOPE_BASE_URL" in str(info.value)
    with pytest.raises(ConfigError, match="CONTEXT_SIZE"):
        run(runner_for(conn, environ={"HEADRACE_CONNECTION_LLM_CONTEXT_SIZE": "lots"}), call())
    assert fake_llm.requests == []


def test_no_model_anywhere_is_a_node_error(fake_llm: FakeLLM, conn: Connection) -> None:
    llm_call = call()
    del llm_call.params["model"]
    with pytest.raises(FlowNodeError, match="set `model`"):
        run(runner_for(conn), llm_call)
    fallback = Connection("llm", "openai", fake_llm.base_url, "k", model="gpt-4o")
    assert run(runner_for(fallback), llm_call).trace["model"] == "gpt-4o"
    assert fake_llm.last.body["model"] == "gpt-4o"


def test_retries_a_429_honouring_retry_after(fake_llm: FakeLLM, conn: Connection) -> None:
    fake_llm.fail_next(1, status=429, retry_after="7")
    sleeps = Sleeps()
    result = run(runner_for(conn, sleeps=sleeps), call())
    assert result.output.startswith("echo:")
    assert sleeps.asked == [7.0]
    assert result.trace["attempts"] == 2
    assert result.trace["retries"] == [{"attempt": 1, "status": 429, "error": "HTTP 429: fake failure 429",
                                        "delay_s": 7.0}]
    assert len(fake_llm.requests) == 2


def test_5xx_backs_off_exponentially_then_fails_with_the_status(fake_llm: FakeLLM, conn: Connection) -> None:
    fake_llm.fail_next(3, status=500, message="the model is overloaded")
    sleeps = Sleeps()
    runner = runner_for(conn, retry=RetryPolicy(max_retries=2, base_delay=0.5, jitter=0), sleeps=sleeps)
    with pytest.raises(LLMError) as info:
        run(runner, call())
    assert info.value.status == 500 and info.value.node == "answer"
    assert "after 3 attempts" in str(info.value) and "the model is overloaded" in str(info.value)
    assert sleeps.asked == [0.5, 1.0]
    assert len(fake_llm.requests) == 3


def test_400_fails_at_once_with_the_server_message(fake_llm: FakeLLM, conn: Connection) -> None:
    fake_llm.fail_next(1, status=400, message="max_tokens is too large")
    sleeps = Sleeps()
    with pytest.raises(LLMError) as info:
        run(runner_for(conn, sleeps=sleeps), call())
    assert info.value.status == 400
    assert "max_tokens is too large" in str(info.value) and "'answer'" in str(info.value)
    assert sleeps.asked == [] and len(fake_llm.requests) == 1


def test_a_timeout_is_retried(fake_llm: FakeLLM, conn: Connection) -> None:
    fake_llm.slow_next(1, seconds=10)
    sleeps = Sleeps()
    runner = runner_for(conn, timeouts=Timeouts(connect=2, read=0.3), sleeps=sleeps,
                        retry=RetryPolicy(base_delay=0.25, jitter=0))
    result = run(runner, call())
    assert result.output.startswith("echo:")
    assert result.trace["attempts"] == 2
    assert result.trace["retries"][0]["status"] is None and "no answer within 0.3 s" in result.trace["retries"][0]["error"]
    assert sleeps.asked == [0.25]


def test_an_unreachable_server_fails_after_retries(fake_llm: FakeLLM) -> None:
    dead = Connection("llm", "openai", DEAD_URL, "k")
    sleeps = Sleeps()
    with pytest.raises(LLMError) as info:
        run(runner_for(dead, retry=RetryPolicy(max_retries=1, base_delay=0.1, jitter=0), sleeps=sleeps), call())
    assert info.value.status is None and "cannot reach" in str(info.value)
    assert sleeps.asked == [0.1]


def test_streaming_yields_chunks_in_order_then_fills_the_trace(fake_llm: FakeLLM, conn: Connection) -> None:
    fake_llm.script(["Par", "is", " is", " the", " capital"])

    async def collect() -> tuple[list[str], LLMResult]:
        result = await runner_for(conn).run(call(stream=True))
        assert "completion_tokens" not in result.trace  # not known before the end
        return [chunk async for chunk in result.output], result  # type: ignore[union-attr]

    chunks, result = asyncio.run(collect())
    assert chunks == ["Par", "is", " is", " the", " capital"]
    assert fake_llm.last.body["stream"] is True and fake_llm.last.body["stream_options"] == {"include_usage": True}
    assert (result.trace["completion_tokens"], result.trace["usage_from"]) == (4, "server")
    assert result.trace["finish_reason"] == "stop" and result.trace["stream"] is True


def test_closing_an_unread_stream_releases_it_and_reports_done(fake_llm: FakeLLM, conn: Connection) -> None:
    fake_llm.script(["never", " read"])
    done: list[str] = []

    async def open_and_close() -> None:
        result = await runner_for(conn).run(call(stream=True))
        result.output.on_done.append(lambda s: done.append("done"))  # type: ignore[union-attr]
        await result.output.aclose()  # type: ignore[union-attr]
        await result.output.aclose()  # type: ignore[union-attr]  # twice is harmless

    asyncio.run(open_and_close())
    assert done == ["done"]


def test_a_stream_start_is_retried(fake_llm: FakeLLM, conn: Connection) -> None:
    fake_llm.fail_next(1, status=503, retry_after="0")

    async def collect() -> tuple[str, dict[str, Any]]:
        result = await runner_for(conn).run(call(stream=True))
        return "".join([c async for c in result.output]), result.trace  # type: ignore[union-attr]

    text, trace = asyncio.run(collect())
    assert text == "echo: What is the capital of France?" and trace["attempts"] == 2


def test_azure_calls_the_deployment_with_api_version_and_api_key(fake_llm: FakeLLM) -> None:
    azure = Connection("aoai", "azure_openai", fake_llm.url, "azure-key", api_version="2024-10-21")
    result = run(runner_for(azure), call(connection="aoai", deployment_name="my-gpt35", model="gpt-35-turbo"))
    sent = fake_llm.last
    assert sent.path == "/openai/deployments/my-gpt35/chat/completions"
    assert sent.query == {"api-version": "2024-10-21"}
    assert sent.headers["api-key"] == "azure-key" and "authorization" not in sent.headers
    assert "deployment_name" not in sent.body and sent.body["model"] == "my-gpt35"
    assert result.trace["model"] == "my-gpt35"


def test_openai_connection_takes_model_before_deployment_name(fake_llm: FakeLLM, conn: Connection) -> None:
    run(runner_for(conn), call(deployment_name="my-gpt35", model="gpt-4o"))
    assert fake_llm.last.body["model"] == "gpt-4o" and "deployment_name" not in fake_llm.last.body
    run(runner_for(conn), call(deployment_name="gpt-35-turbo", model=None))
    assert fake_llm.last.body["model"] == "gpt-35-turbo"


def test_local_connection_flattens_the_chat_into_a_completion(fake_llm: FakeLLM) -> None:
    local = Connection("small", "local", fake_llm.base_url)
    result = run(runner_for(local), call(connection="small", model="gemma-3-270m", max_tokens=32))
    sent = fake_llm.last
    assert sent.path == "/v1/completions"
    assert sent.body == {"model": "gemma-3-270m", "max_tokens": 32, "stop": ["\nQuestion:"],
                         "prompt": "You answer in one word.\n\nQuestion: What is the capital of France?\nAnswer:"}
    assert sent.headers["authorization"] == "Bearer none"  # keyless servers still get a placeholder
    assert result.output == "echo: What is the capital of France?"
    assert result.trace["counted_with"].startswith("estimate") and result.trace["context_size"] == 32_768


def test_unknown_model_assumes_a_small_context_and_says_so(fake_llm: FakeLLM, conn: Connection) -> None:
    trace = run(runner_for(conn), call(model="my-finetune")).trace
    assert (trace["context_size"], trace["context_size_from"]) == (8192, "default")
    assert "my-finetune" in trace["warnings"][0] and "--context-size" in trace["warnings"][0]
    assert trace["counted_with"].startswith("estimate")


def test_retry_policy_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=5, jitter=0.2)
    assert [policy.delay(n, rand=lambda: 0.5) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
    assert policy.delay(1, rand=lambda: 0.0) == pytest.approx(0.8)
    assert policy.delay(1, rand=lambda: 1.0) == pytest.approx(1.2)
    assert policy.delay(3, retry_after=2.5) == 2.5
    assert policy.delay(1, retry_after=1e6) == policy.max_retry_after


def test_a_session_keeps_one_client_per_connection_and_closes_it_at_the_end(fake_llm: FakeLLM,
                                                                             conn: Connection) -> None:
    fake_llm.script("one", "two", ["th", "ree"], "four")
    runner = runner_for(conn)

    async def several() -> tuple[list[str], Any]:
        answers = []
        async with runner.session():
            answers.append((await runner.run(call())).output)
            answers.append((await runner.run(call())).output)
            stream = (await runner.run(call(stream=True))).output
            answers.append("".join([chunk async for chunk in stream]))  # type: ignore[union-attr]
            async with runner.session():  # nested: the outer one owns the clients
                answers.append((await runner.run(call())).output)
            [client] = runner._clients.values()  # type: ignore[union-attr]
            assert not client.is_closed()  # a finished stream released its response, not the shared client
        return answers, client

    answers, client = asyncio.run(several())
    assert answers == ["one", "two", "three", "four"]
    assert client.is_closed() and runner._clients is None
    fake_llm.script("after")
    assert run(runner, call()).output == "after"  # outside a session: a client per call, as before


def test_short_prompts_are_fitted_without_a_thread_once_the_tokenizer_is_loaded() -> None:
    from headrace.flows import budget

    messages = render_chat(TEMPLATE, {"question": "Why?"}, origin="answer.jinja2")
    assert budget.is_quick(budget.counter_for("some-local-model"), messages)  # the estimate loads nothing
    counter = budget.counter_for("gpt-4o-mini")
    counter.count("load it")
    assert budget.is_quick(counter, messages)
    assert not budget.is_quick(counter, render_chat(TEMPLATE, {"question": "word " * 2000}, origin="a"))
