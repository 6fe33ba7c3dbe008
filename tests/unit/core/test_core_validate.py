"""Every rule of Pipeline.validate(): each message names the step/parameter/data and says what to do."""

from __future__ import annotations

from headrace.core import (
    DataPath,
    DataPathComputeBinding,
    Pipeline,
    PipelineData,
    PipelineParameter,
    PythonScriptStep,
)


def step(name, script="prep.py", **kw):
    kw.setdefault("source_directory", "scripts")
    return PythonScriptStep(script, name, **kw)


def only_problem(pipeline):
    problems = pipeline.validate()
    assert len(problems) == 1, problems
    return problems[0]


def test_valid_pipeline_has_no_problems(scripts):
    data = PipelineData("d")
    make = step("make", outputs=[data], arguments=["--out", data])
    use = step("use", inputs=[data], arguments=["--in", data])
    assert Pipeline(None, [make, use]).validate() == []


def test_all_problems_are_reported_at_once(scripts):
    orphan = PipelineData("orphan")
    bad = step("bad", script="nope.py", arguments=[object()], inputs=[orphan], outputs=["x"])
    problems = Pipeline(None, [bad, step("bad")]).validate()
    assert len(problems) == 5, problems


def test_no_steps():
    assert "at least one step" in only_problem(Pipeline(None, []))


def test_non_step_items(scripts):
    problems = Pipeline(None, ["prep.py", step("ok")]).validate()
    assert problems == ["steps[0] is a str, not a step; pass PythonScriptStep objects"]


def test_cycle_names_the_steps(scripts):
    a, b, c = PipelineData("a"), PipelineData("b"), PipelineData("c")
    one = step("one", inputs=[c], outputs=[a])
    two = step("two", inputs=[a], outputs=[b])
    three = step("three", inputs=[b], outputs=[c])
    message = only_problem(Pipeline(None, [one, two, three]))
    assert "'one' -> 'two' -> 'three' -> 'one'" in message
    assert "cycle" in message and "remove one of these inputs" in message


def test_step_reading_its_own_output_is_a_cycle(scripts):
    data = PipelineData("d")
    message = only_problem(Pipeline(None, [step("loop", inputs=[data], outputs=[data])]))
    assert "'loop' -> 'loop'" in message


def test_duplicate_step_names(scripts):
    message = only_problem(Pipeline(None, [step("prep"), step("prep")]))
    assert "2 steps are named 'prep'" in message and "unique name" in message


def test_input_nobody_produces(scripts):
    message = only_problem(Pipeline(None, [step("train", inputs=[PipelineData("prepared")])]))
    assert "step 'train'" in message and "'prepared'" in message
    assert "not produced by any step" in message and "outputs=" in message


def test_producer_outside_pipeline_without_closure(scripts):
    data = PipelineData("prepared")
    step("prep", outputs=[data])
    train = step("train", inputs=[data])
    message = only_problem(Pipeline(None, [train], resolve_closure=False))
    assert "step 'train'" in message and "'prepared'" in message and "step 'prep'" in message
    assert "resolve_closure=True" in message
    assert Pipeline(None, [train]).validate() == []


def test_pipeline_data_with_two_producers(scripts):
    data = PipelineData("d")
    message = only_problem(Pipeline(None, [step("one", outputs=[data]), step("two", outputs=[data])]))
    assert "'d'" in message and "'one' and 'two'" in message
    assert "separate PipelineData for each step" in message


def test_parameter_with_two_defaults(scripts):
    first = step("first", arguments=[PipelineParameter("n", 1)])
    second = step("second", arguments=[PipelineParameter("n", 2)])
    same = step("same", arguments=[PipelineParameter("n", 1)])
    message = only_problem(Pipeline(None, [first, second, same]))
    assert "PipelineParameter 'n'" in message
    assert "1 (step 'first')" in message and "2 (step 'second')" in message
    assert "same default everywhere" in message


def test_bool_and_int_defaults_differ(scripts):
    first = step("first", arguments=[PipelineParameter("flag", True)])
    second = step("second", arguments=[PipelineParameter("flag", 1)])
    assert "PipelineParameter 'flag'" in only_problem(Pipeline(None, [first, second]))


def test_datapath_parameter_with_two_defaults(scripts):
    one = PipelineParameter("raw", DataPath("ds", "a"))
    two = PipelineParameter("raw", DataPath("ds", "b"))
    problems = Pipeline(None, [step("x", inputs=[one]), step("y", inputs=[two])]).validate()
    assert len(problems) == 1 and "'raw'" in problems[0] and "step 'x'" in problems[0]


def test_two_data_objects_with_the_same_name(scripts):
    data_a, data_b = PipelineData("shared"), PipelineData("shared")
    make_a = step("make_a", outputs=[data_a])
    make_b = step("make_b", outputs=[data_b])
    message = only_problem(Pipeline(None, [make_a, make_b]))
    assert "data name 'shared'" in message and "step 'make_a'" in message and "step 'make_b'" in message
    assert "unique name" in message


def test_data_name_clash_across_kinds(scripts):
    param = PipelineParameter("input_data", DataPath("ds", "raw"))
    make = step("make", outputs=[PipelineData("input_data")])
    use = step("use", inputs=[param])
    message = only_problem(Pipeline(None, [make, use]))
    assert "PipelineData 'input_data'" in message and "PipelineParameter 'input_data'" in message


def test_equal_datapaths_are_the_same_data(scripts):
    one = step("one", inputs=[DataPath("ds", "raw/x")])
    two = step("two", inputs=[DataPath("ds", "raw/x")])
    assert Pipeline(None, [one, two]).validate() == []


def test_same_data_bound_with_two_modes(scripts):
    raw = PipelineParameter("raw", DataPath("ds", "in"))
    one = step("one", inputs=[(raw, DataPathComputeBinding("download"))])
    two = step("two", inputs=[raw])
    message = only_problem(Pipeline(None, [one, two]))
    assert "'raw'" in message and "'download' in step 'one'" in message and "'mount' in step 'two'" in message


def test_missing_script(scripts):
    message = only_problem(Pipeline(None, [step("prep", script="missing.py")]))
    assert "step 'prep'" in message and "'missing.py'" in message and str(scripts) in message
    assert "fix script_name/source_directory" in message


def test_absolute_script_name(scripts):
    message = only_problem(Pipeline(None, [step("prep", script=str(scripts / "prep.py"))]))
    assert "step 'prep'" in message and "relative to source_directory" in message


def test_missing_source_directory(scripts):
    message = only_problem(Pipeline(None, [step("prep", source_directory="nowhere")]))
    assert "step 'prep'" in message and "nowhere" in message and "does not exist" in message


def test_source_directory_falls_back_to_pipeline_default_then_cwd(scripts):
    bare = PythonScriptStep("prep.py", "prep")
    assert "does not exist" not in only_problem(Pipeline(None, [bare]))  # cwd is tmp_path: no prep.py
    assert Pipeline(None, [bare], default_source_directory="scripts").validate() == []


def test_bad_argument_names_index_and_type(scripts):
    message = only_problem(Pipeline(None, [step("prep", arguments=["--x", ["a", "b"]])]))
    assert "step 'prep': arguments[1] is a value of type list" in message
    assert "an argument must be str, int, float, bool, PipelineParameter" in message


def test_bad_tuple_argument(scripts):
    raw = PipelineParameter("raw", DataPath("ds", "in"))
    message = only_problem(Pipeline(None, [step("prep", arguments=[(raw, "mount")], inputs=[raw])]))
    assert "arguments[0] is a tuple (PipelineParameter, str)" in message


def test_data_argument_not_in_inputs_or_outputs(scripts):
    raw = PipelineParameter("raw", DataPath("ds", "in"))
    message = only_problem(Pipeline(None, [step("prep", arguments=["--in", raw])]))
    assert "step 'prep': arguments[1] uses data 'raw'" in message
    assert "add it to inputs=" in message


def test_binding_tuple_argument_matches_bare_input(scripts):
    raw = PipelineParameter("raw", DataPath("ds", "in"))
    ok = step("prep", arguments=[(raw, DataPathComputeBinding())], inputs=[raw])
    assert Pipeline(None, [ok]).validate() == []


def test_bad_inputs(scripts):
    scalar = PipelineParameter("n", 3)
    problems = Pipeline(None, [step("prep", inputs=[scalar, "raw.csv"])]).validate()
    assert len(problems) == 2
    assert "step 'prep': inputs[0] is PipelineParameter 'n', whose default is of type int" in problems[0]
    assert "step 'prep': inputs[1] is a value of type str" in problems[1]
    assert "an input must be PipelineData, DataPath" in problems[1]


def test_output_that_is_not_pipeline_data(scripts):
    message = only_problem(Pipeline(None, [step("prep", outputs=[DataPath("ds", "out")])]))
    assert "step 'prep': outputs[0] is a DataPath" in message and "outputs must be PipelineData" in message


def test_bad_step_settings(scripts):
    bad = step(
        "prep", allow_reuse="yes", environment_variables={"A": 1}, timeout_seconds=0, compute_target=""
    )
    problems = Pipeline(None, [bad]).validate()
    assert len(problems) == 4
    assert all(p.startswith("step 'prep': ") for p in problems)
