"""Prompt flow's semantics that imported flows rely on (issue 14): typed llm parameters, ``log_metric``
keywords, bypassed inputs, generator tools, the leniency of imported flows, ``sys.path`` and
``environment_variables``. Real flows run against the fake OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fake_llm import FakeLLM

from headrace.flows import load_flow
from headrace.flows.connections import Connection
from headrace.flows.llm_node import OpenAIRunner

WriteFlow = Callable[..., Path]


@pytest.fixture
def runner(fake_llm: FakeLLM) -> OpenAIRunner:
    return OpenAIRunner(lambda name: Connection(name, "openai", fake_llm.base_url, "sk-test"), environ={})


def llm_flow(params: str) -> dict[str, str]:
    return {
        "flow.yaml": f"""
            inputs: {{q: {{type: string}}}}
            outputs: {{a: {{reference: "${{chat.output}}"}}}}
            nodes:
            - name: chat
              type: llm
              source: chat.jinja2
              connection: llm
              inputs: {{model: gpt-4o-mini, q: "${{inputs.q}}", {params}}}
        """,
        "chat.jinja2": "# user:\n{{ q }}\n",
    }


def test_llm_parameters_given_as_text_are_sent_typed_and_empty_ones_left_out(
        write_flow: WriteFlow, fake_llm: FakeLLM, runner: OpenAIRunner) -> None:
    folder = write_flow("typed", llm_flow('max_tokens: "256", temperature: "0.7", top_p: "1", seed: "3", '
                                          'stop: "", logit_bias: "", presence_penalty: "", functions: ""'))
    result = load_flow(folder, llm=runner).run(q="hi")
    assert result.error is None, result.error
    body = fake_llm.last.body
    assert (body["max_tokens"], body["temperature"], body["top_p"], body["seed"]) == (256, 0.7, 1.0, 3)
    assert not {"stop", "logit_bias", "presence_penalty", "functions"} & set(body)
    assert result.outputs["a"] == "echo: hi"


def test_a_parameter_that_does_not_fit_its_type_names_it(write_flow: WriteFlow, runner: OpenAIRunner) -> None:
    result = load_flow(write_flow("bad", llm_flow('max_tokens: "lots"')), llm=runner).run(q="hi")
    assert result.status == "Failed" and "max_tokens" in str(result.error)


def test_an_llm_node_offering_functions_outputs_the_message_with_its_function_call(
        write_flow: WriteFlow, fake_llm: FakeLLM, runner: OpenAIRunner) -> None:
    functions = '[{"name": "weather", "parameters": {"type": "object", "properties": {}}}]'
    folder = write_flow("fn", llm_flow(f"functions: '{functions}', function_call: auto"))
    call = {"name": "weather", "arguments": '{"city": "Paris"}'}
    fake_llm.script({"content": None, "function_call": call})
    result = load_flow(folder, llm=runner).run(q="weather?")
    assert result.error is None, result.error
    assert fake_llm.last.body["functions"][0]["name"] == "weather"
    assert fake_llm.last.body["function_call"] == "auto"
    message = result.outputs["a"]
    assert message["role"] == "assistant" and message["function_call"] == call and message["content"] is None


def test_log_metric_takes_prompt_flows_keywords(write_flow: WriteFlow) -> None:
    import asyncio

    folder = write_flow("eval", {
        "flow.yaml": """
            inputs: {grade: {type: double}}
            outputs: {g: {reference: "${inputs.grade}"}}
            nodes:
            - name: agg
              type: python
              source: agg.py
              aggregation: true
              inputs: {grades: "${inputs.grade}"}
        """,
        "agg.py": """
            from headrace.flows import log_metric, tool

            @tool
            def agg(grades: list):
                log_metric(key="accuracy", value=sum(grades) / len(grades), variant_id=None)
                log_metric(key="best", value=max(grades), variant_id="variant_1")
        """,
    })
    flow = load_flow(folder)
    rows = [{"grade": 1.0}, {"grade": 0.0}]
    results = [flow.run(**row) for row in rows]
    agg = asyncio.run(flow.arun_aggregation(rows, results))
    assert agg.error is None, agg.error
    assert agg.metrics == {"accuracy": 0.5, "best": 1.0}


BYPASS_FLOW = {
    "flow.yaml": """
        inputs: {go: {type: bool, default: false}}
        outputs:
          out: {reference: "${use.output}"}
        nodes:
        - name: maybe
          type: python
          source: tools.py
          function: maybe
          activate: {when: "${inputs.go}", is: true}
          inputs: {}
        - name: nine
          type: python
          source: tools.py
          function: nine
          inputs: {}
        - name: use
          type: python
          source: tools.py
          function: use
          inputs: {x: "${maybe.output}", y: "${nine.output}", z: "${maybe.output}", w: "7"}
    """,
    "tools.py": """
        from headrace.flows import tool

        @tool
        def maybe() -> str:
            return "ran"

        @tool
        def nine() -> int:
            return 9

        @tool
        def use(x: str = "default", y: str = "", z=None, w: int = 0) -> dict:
            return {"x": x, "y": y, "y_type": type(y).__name__, "z": z, "w": w}
    """,
}


def test_a_bypassed_input_is_left_out_so_the_tools_default_applies(write_flow: WriteFlow) -> None:
    result = load_flow(write_flow("bypass", BYPASS_FLOW)).run(go=False)
    assert result.error is None, result.error
    out = result.outputs["out"]
    assert out["x"] == "default" and out["z"] is None


def test_upstream_outputs_arrive_unconverted_while_literals_are_typed(write_flow: WriteFlow) -> None:
    result = load_flow(write_flow("types", BYPASS_FLOW)).run(go=True)
    out = result.outputs["out"]
    assert (out["x"], out["y"], out["y_type"], out["w"]) == ("ran", 9, "int", 7)


GENERATOR_FLOW = {
    "flow.yaml": """
        inputs: {text: {type: string}}
        outputs:
          answer: {reference: "${echo.output}", is_chat_output: true}
        nodes:
        - name: echo
          type: python
          source: echo.py
          inputs: {text: "${inputs.text}"}
    """,
    "echo.py": """
        from headrace.flows import tool

        @tool
        def echo(text: str):
            yield "Echo: "
            for word in text.split():
                yield word + " "
    """,
}


def test_a_generator_tools_chunks_are_joined(write_flow: WriteFlow) -> None:
    result = load_flow(write_flow("gen", GENERATOR_FLOW)).run(text="a b")
    assert result.error is None, result.error
    assert result.outputs["answer"] == "Echo: a b "
    assert result.nodes["echo"].output == "Echo: a b "


def test_an_async_generator_tool_is_joined_and_a_streamed_one_yields_its_chunks(write_flow: WriteFlow) -> None:
    import asyncio

    files = dict(GENERATOR_FLOW, **{"echo.py": """
        from headrace.flows import tool

        @tool
        async def echo(text: str):
            for word in text.split():
                yield word + "."
    """})
    flow = load_flow(write_flow("agen", files))
    assert flow.run(text="a b").outputs["answer"] == "a.b."

    async def streamed() -> list[str]:
        result = await flow.arun({"text": "x y z"}, stream=True)
        return [chunk async for chunk in result.outputs["answer"]]

    assert asyncio.run(streamed()) == ["x.", "y.", "z."]
    sync_flow = load_flow(write_flow("sgen", GENERATOR_FLOW))

    async def sync_streamed() -> list[str]:
        result = await sync_flow.arun({"text": "p q"}, stream=True)
        return [chunk async for chunk in result.outputs["answer"]]

    assert asyncio.run(sync_streamed()) == ["Echo: ", "p ", "q "]


def lenient_flow(compat: str) -> dict[str, str]:
    return {
        "flow.yaml": f"""
            {compat}
            inputs: {{name: {{type: string}}}}
            outputs: {{text: {{reference: "${{hello.output}}"}}}}
            nodes:
            - name: hello
              type: prompt
              source: hello.jinja2
              inputs: {{name: "${{inputs.name}}"}}
        """,
        "hello.jinja2": "Hello {{ name }}{{ title }}!",
    }


def test_an_imported_flow_keeps_prompt_flows_leniency(write_flow: WriteFlow) -> None:
    flow = load_flow(write_flow("lenient", lenient_flow("compat: promptflow")))
    result = flow.run(name=["a", "b"], unused="ignored")
    assert result.error is None, result.error
    assert result.outputs["text"] == "Hello ['a', 'b']!"


def test_a_native_flow_stays_strict(write_flow: WriteFlow) -> None:
    from headrace.errors import FlowDefinitionError, FlowInputError

    with pytest.raises(FlowDefinitionError, match="title"):
        load_flow(write_flow("strict", lenient_flow("")))
    files = lenient_flow("")
    files["hello.jinja2"] = "Hello {{ name }}!"
    flow = load_flow(write_flow("strict2", files))
    with pytest.raises(FlowInputError, match="unused"):
        flow.run(name="a", unused="x")
    with pytest.raises(FlowInputError, match="string"):
        flow.run(name=["a"])


def test_the_importer_marks_the_flow_as_prompt_flow_compatible(tmp_path: Path) -> None:
    import yaml

    from headrace.flows.importer import import_promptflow

    src = tmp_path / "pf"
    src.mkdir()
    (src / "flow.dag.yaml").write_text("inputs: {name: {type: string}}\noutputs: {}\nnodes: []\n")
    import_promptflow(src, tmp_path / "out")
    assert yaml.safe_load((tmp_path / "out" / "flow.yaml").read_text())["compat"] == "promptflow"


def test_environment_variables_are_set_with_connection_fields_before_tools_run(
        write_flow: WriteFlow, runner: OpenAIRunner, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.delenv("PF_TEST_GREETING", raising=False)
    monkeypatch.delenv("PF_TEST_KEY", raising=False)
    monkeypatch.delenv("PF_TEST_BASE", raising=False)
    folder = write_flow("env", {
        "flow.yaml": """
            environment_variables:
              PF_TEST_GREETING: hello
              PF_TEST_KEY: ${llm.api_key}
              PF_TEST_BASE: ${llm.api_base}
            inputs: {}
            outputs: {env: {reference: "${read.output}"}}
            nodes:
            - name: read
              type: python
              source: read.py
              inputs: {}
        """,
        "read.py": """
            import os
            from headrace.flows import tool

            @tool
            def read() -> dict:
                return {k: os.environ.get(k) for k in ("PF_TEST_GREETING", "PF_TEST_KEY", "PF_TEST_BASE")}
        """,
    })
    try:
        result = load_flow(folder, llm=runner).run()
    finally:
        for key in ("PF_TEST_GREETING", "PF_TEST_KEY", "PF_TEST_BASE"):
            os.environ.pop(key, None)
    assert result.error is None, result.error
    assert result.outputs["env"] == {"PF_TEST_GREETING": "hello", "PF_TEST_KEY": "sk-test",
                                     "PF_TEST_BASE": fake_llm.base_url}


def test_a_tool_in_a_sub_folder_imports_the_flows_own_modules(write_flow: WriteFlow) -> None:
    folder = write_flow("nested", {
        "flow.yaml": """
            inputs: {}
            outputs: {v: {reference: "${t.output}"}}
            nodes:
            - name: t
              type: python
              source: tools/t.py
              inputs: {}
        """,
        "shared_helpers_pf.py": "VALUE = 42\n",
        "tools/t.py": """
            from shared_helpers_pf import VALUE
            from headrace.flows import tool

            @tool
            def t() -> int:
                return VALUE
        """,
    })
    assert load_flow(folder).run().outputs["v"] == 42


def test_a_node_whose_activate_holds_runs_even_when_all_its_inputs_were_bypassed(write_flow: WriteFlow) -> None:
    folder = write_flow("act", {
        "flow.yaml": """
            inputs: {text: {type: string, default: hi}}
            outputs: {output: {reference: "${b.output}"}}
            nodes:
            - name: a
              type: python
              source: pass.py
              inputs: {input1: "${inputs.text}"}
              activate: {when: "${inputs.text}", is: world}
            - name: b
              type: python
              source: pass.py
              inputs: {input1: "${a.output}"}
              activate: {when: "${inputs.text}", is: hi}
        """,
        "pass.py": """
            from headrace.flows import tool

            @tool
            def pass_through(input1: str = "Execution") -> str:
                return input1
        """,
    })
    result = load_flow(folder).run()
    assert result.outputs == {"output": "Execution"}
    assert [n for n, t in result.nodes.items() if t.status == "Bypassed"] == ["a"]


def test_tool_accepts_prompt_flows_extra_arguments(write_flow: WriteFlow) -> None:
    from headrace.flows import tool

    @tool(name="x", description="d", input_settings={"a": 1}, streaming_option=None)
    def f(a: int) -> int:
        return a

    assert f(a=2) == 2
    with pytest.raises(TypeError, match="nonsense"):
        tool(nonsense=1)
