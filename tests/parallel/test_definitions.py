"""ParallelRunConfig and ParallelRunStep refuse bad settings at definition time, naming each."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace import DataPath, Dataset, ParallelRunConfig, ParallelRunStep, PipelineData, PipelineParameter
from headrace.core.parallel_run import Progress, last_progress, parse_size, progress_line
from headrace.errors import DefinitionError


def cfg(scripts: Path, **overrides) -> ParallelRunConfig:
    settings = dict(environment=None, entry_script="score.py", source_directory=str(scripts), error_threshold=1,
                    output_action="append_row", compute_target="local", node_count=1)
    settings.update(overrides)
    return ParallelRunConfig(**settings)


def test_sizes_follow_azure_ml_units():
    assert [parse_size(v) for v in (7, "12", "2KB", "5mb", "1GB")] == [7, 12, 2048, 5 * 1024 ** 2, 1024 ** 3]
    for bad in ("5 TB", "x", 0, "-1", True):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_config_keeps_azure_ml_defaults_and_converts_sizes(scripts):
    config = cfg(scripts, mini_batch_size="1MB")
    assert config.mini_batch_size == 1024 * 1024
    assert (config.run_invocation_timeout, config.run_max_try, config.logging_level) == (60, 3, "INFO")
    assert config.process_count_per_node is None and config.append_row_file_name is None
    assert cfg(scripts, mini_batch_size=PipelineParameter("size", "5")).mini_batch_size.name == "size"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"output_action": "rows"}, "output_action 'rows' must be 'append_row' or 'summary_only'"),
    ({"error_threshold": -2}, "error_threshold -2 must be a whole number of at least -1"),
    ({"mini_batch_size": "5TB"}, "mini_batch_size '5TB' must be a whole number"),
    ({"mini_batch_size": 5, "partition_keys": ["k"]}, "give mini_batch_size or partition_keys, not both"),
    ({"process_count_per_node": 0}, "process_count_per_node 0 must be a whole number of at least 1"),
    ({"run_max_try": 0}, "run_max_try 0 must be a whole number of at least 1"),
    ({"append_row_file_name": "a/b.txt"}, "append_row_file_name 'a/b.txt' must be a plain file name"),
    ({"allowed_failed_percent": 120}, "allowed_failed_percent 120 must be a number from 0 to 100"),
    ({"resources": {"GPU": 0}}, "ParallelRunConfig: resource 'GPU' must be a positive number, not 0"),
    ({"resources": "GPU=1"}, "ParallelRunConfig: resources must be a dict"),
])
def test_bad_settings_are_refused_by_name(scripts, overrides, message):
    with pytest.raises(DefinitionError, match=message.replace("(", r"\(")):
        cfg(scripts, **overrides)


def test_step_refuses_bad_inputs_outputs_and_arguments(ws, scripts):
    store = ws.get_default_datastore()
    files = Dataset.File.from_files((store, "files/*.txt")).as_named_input("docs")
    table = Dataset.Tabular.from_delimited_files((store, "table/*.csv"))
    with pytest.raises(DefinitionError) as caught:
        ParallelRunStep(name="s", parallel_run_config=cfg(scripts), inputs=[files, table.as_named_input("t")],
                        arguments=["--output", "x"])
    problems = "\n".join(caught.value.problems)
    assert "argument '--output' is reserved by ParallelRunStep" in problems
    assert "all inputs must be of one kind, file or tabular" in problems
    assert "output_action 'append_row' needs an output" in problems
    with pytest.raises(DefinitionError, match="tabular input 't' must be consumed in direct mode"):
        ParallelRunStep(name="s", parallel_run_config=cfg(scripts), inputs=[table.as_named_input("t").as_mount()],
                        output=PipelineData("o"))
    with pytest.raises(DefinitionError, match="entry_script 'nope.py' is not a file"):
        ParallelRunStep(name="s", parallel_run_config=cfg(scripts, entry_script="nope.py"), inputs=[files],
                        output=PipelineData("o"))
    with pytest.raises(DefinitionError, match="arguments must be keyword style"):
        ParallelRunStep(name="s", parallel_run_config=cfg(scripts), inputs=[files], output=PipelineData("o"),
                        arguments=["positional"])


def test_step_is_a_script_step_running_the_driver_from_a_content_named_copy(ws, scripts):
    folder = DataPath(ws.get_default_datastore(), "files")
    first = ParallelRunStep(name="s", parallel_run_config=cfg(scripts), inputs=[folder], output=PipelineData("o"))
    again = ParallelRunStep(name="s", parallel_run_config=cfg(scripts), inputs=[folder], output=PipelineData("o"))
    assert first.script_name == "_headrace_parallel_run.py" and first.source_directory == again.source_directory
    assert (Path(first.source_directory) / "score.py").read_text() == (scripts / "score.py").read_text()
    (scripts / "score.py").write_text("def run(b):\n    return b\n")
    changed = ParallelRunStep(name="s", parallel_run_config=cfg(scripts), inputs=[folder], output=PipelineData("o"))
    assert changed.source_directory != first.source_directory


def test_resources_go_into_the_steps_graph(ws, scripts):
    from headrace import Pipeline

    folder = DataPath(ws.get_default_datastore(), "files")
    step = ParallelRunStep(name="s", parallel_run_config=cfg(scripts, resources={"GPU": 1}), inputs=[folder],
                           output=PipelineData("o"))
    assert step.resources == {"GPU": 1}
    assert Pipeline(ws, [step]).graph()["steps"][0]["resources"] == {"GPU": 1}


def test_progress_lines_round_trip_and_the_last_whole_one_wins():
    text = (progress_line(Progress(10, 1, 0, 9)) + "\nother\n" + progress_line(Progress(10, 4, 1, 5, 3, 2))
            + "\n[parallel_run] progress {\"total\": 1")
    assert last_progress(text) == Progress(10, 4, 1, 5, 3, 2)
    assert last_progress("nothing here") is None
    assert Progress(10, 4, 1, 5, 3, 2).text() == "4/10 mini-batches done, 1 failed, 5 left, 2 retried"


def test_file_inputs_cut_by_partition_keys_need_those_keys_in_their_partition_format(ws, scripts):
    store = ws.get_default_datastore()
    plain = Dataset.File.from_files((store, "files/*.txt")).as_named_input("docs")
    keyed = Dataset.File.from_files((store, "files/*.txt"), partition_format="files/{name}.txt")
    config = cfg(scripts, mini_batch_size=None, partition_keys=["name"])
    with pytest.raises(DefinitionError, match=r"input 'docs' needs a partition_format with those keys .*its keys: none"):
        ParallelRunStep(name="s", parallel_run_config=config, inputs=[plain])
    with pytest.raises(DefinitionError, match=r"its keys: \['name'\]"):
        ParallelRunStep(name="s", parallel_run_config=cfg(scripts, mini_batch_size=None, partition_keys=["user"]),
                        inputs=[keyed.as_named_input("k")])
    step = ParallelRunStep(name="s", parallel_run_config=config, inputs=[keyed.as_named_input("k")],
                           output=PipelineData("o"))
    assert step.input_kind == "file"
