"""A ``CommandStep`` definition: Azure ML's command splitting, its frozen-graph form, and the server's check of it."""

from __future__ import annotations

import copy

from headrace import CommandStep, Pipeline, PipelineData, PipelineParameter, PythonScriptStep, ScriptRunConfig
from headrace.core.command_step import command_text
from headrace.services.graphs import check_graph_shape


def test_commands_split_as_azure_ml_splits_them(tmp_path):
    assert CommandStep("ls -l 'a b'").command == ["ls", "-l", "a b"]
    assert CommandStep(["python train.py --epochs 30"]).command == ["python", "train.py", "--epochs", "30"]
    assert CommandStep(["python", "train.py", "--n", 3]).command == ["python", "train.py", "--n", 3]
    assert CommandStep("ls").name == "CommandStep_ls"
    from headrace import RunConfiguration

    assert CommandStep(runconfig=RunConfiguration(command=["ls", "-l"])).command == ["ls", "-l"]
    src = ScriptRunConfig(source_directory=str(tmp_path), command="echo hi")
    step = CommandStep(runconfig=src)
    assert step.command == ["echo", "hi"] and step.source_directory == str(tmp_path)


def test_a_python_command_in_a_script_run_config_keeps_its_script(tmp_path):
    config = ScriptRunConfig(source_directory=str(tmp_path), command=["python", "train.py", "--lr", 0.1])
    assert (config.script, config.arguments) == ("train.py", ["--lr", 0.1])
    assert isinstance(config.to_step(), PythonScriptStep) and not isinstance(config.to_step(), CommandStep)
    other = ScriptRunConfig(source_directory=str(tmp_path), command=["ls", "-l"])
    assert other.script is None and isinstance(other.to_step(), CommandStep)


def _graph(tmp_path):
    (tmp_path / "train.py").write_text("")
    data = PipelineData("model")
    n = PipelineParameter("n", default_value=2)
    step = CommandStep(["python", "train.py", "--n", n, "--out", data], name="train", outputs=[data],
                       source_directory=str(tmp_path))
    pipeline = Pipeline(workspace=None, steps=[step])
    assert pipeline.validate() == []
    return pipeline.graph()


def test_the_frozen_graph_carries_the_command(tmp_path):
    [step] = _graph(tmp_path)["steps"]
    assert step["kind"] == "command" and step["script_name"] is None and step["arguments"] == []
    assert step["command"] == [{"literal": "python"}, {"literal": "train.py"}, {"literal": "--n"}, {"param": "n"},
                               {"literal": "--out"}, {"data": "model"}]
    assert step["parameters"] == ["n"]
    assert command_text(step) == "python train.py --n $AML_PARAMETER_n --out $AZUREML_DATAREFERENCE_model"


def test_a_missing_python_script_is_a_validation_problem(tmp_path):
    step = CommandStep("python nowhere.py", name="x", source_directory=str(tmp_path))
    [problem] = Pipeline(workspace=None, steps=[step]).validate()
    assert "'nowhere.py'" in problem


def test_the_server_checks_a_command_graph(tmp_path):
    graph = _graph(tmp_path)
    graph["steps"][0]["snapshot"] = "0" * 64
    assert check_graph_shape(graph) == []
    bad = copy.deepcopy(graph)
    bad["steps"][0]["command"] = [{"data": "model"}]
    assert any("must be a list starting with the executable" in p for p in check_graph_shape(bad))
    bad["steps"][0]["command"] = [{"literal": "ls"}, {"param": "nope"}]
    assert any("command item" in p for p in check_graph_shape(bad))
    old = copy.deepcopy(graph)  # a script step's graph is checked as before
    old["steps"][0].update(kind="python_script", script_name="train.py")
    del old["steps"][0]["command"]
    assert check_graph_shape(old) == []


def test_the_server_checks_a_data_transfer_graph(tmp_path):
    from headrace import DataReference, DataTransferStep
    from headrace.core.params import DataPath

    class Store:
        name = "ds"

    step = DataTransferStep(name="copy", source_data_reference=DataReference(Store(), "raw", "raw"),
                            destination_data_reference=DataReference(Store(), "out", "out"),
                            destination_reference_type="Directory")
    assert isinstance(step.inputs[0], DataPath)
    graph = Pipeline(workspace=None, steps=[step]).graph()
    [frozen] = graph["steps"]
    assert frozen["kind"] == "data_transfer" and frozen["script_name"] is None
    assert frozen["transfer"] == {"source": "raw", "destination": "out_copy", "source_reference_type": None,
                                  "destination_reference_type": "directory", "ignored_compute": None}
    assert graph["data"]["out_copy"]["destination"] == "out"
    frozen["snapshot"] = "0" * 64
    assert check_graph_shape(graph) == []
    frozen["transfer"] = dict(frozen["transfer"], destination="elsewhere")
    assert any("'transfer' must name" in p for p in check_graph_shape(graph))
