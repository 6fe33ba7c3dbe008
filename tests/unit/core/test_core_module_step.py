"""Module versions in the definition layer: choosing a version, ports, and what a ModuleStep refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from headrace.core.module_ports import (
    InputPortDef,
    ModuleInterface,
    OutputPortDef,
    VersionInfo,
    interface_json,
    pick_version,
)
from headrace.core.module_step import ModuleStep
from headrace.core.params import PipelineData
from headrace.core.pipeline import Pipeline
from headrace.errors import DefinitionError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SNAP = "c" * 64


def info(version: str, status: str = "Active", minutes: int = 0) -> VersionInfo:
    return VersionInfo(version, status, T0 + timedelta(minutes=minutes))


@pytest.mark.parametrize(("versions", "default", "asked", "chosen"), [
    ([info("1"), info("2")], None, "1", "1"),
    ([info("1"), info("2")], "1", None, "1"),
    ([info("1.9"), info("1.10"), info("0.99")], None, None, "1.10"),
    ([info("2"), info("10", "Disabled")], None, None, "2"),
    ([info("beta", minutes=5), info("alpha", minutes=9), info("rc", "Deprecated", minutes=20)], None, None, "alpha"),
    ([info("1", minutes=5), info("x", minutes=1)], None, None, "1"),
])
def test_pick_version(versions: list[VersionInfo], default: str | None, asked: str | None, chosen: str) -> None:
    assert pick_version("m", versions, default, asked) == chosen


def test_pick_version_names_what_is_wrong() -> None:
    with pytest.raises(DefinitionError, match="module 'm' has no version '3'"):
        pick_version("m", [info("1")], None, "3")
    with pytest.raises(DefinitionError, match="module 'm' has no version a step can run: publish one"):
        pick_version("m", [], None)
    with pytest.raises(DefinitionError, match="none is Active"):
        pick_version("m", [info("1", "Disabled")], None)


def test_ports_keep_azure_ml_arguments_and_round_trip() -> None:
    port = InputPortDef(name="in1", default_datastore_mode="mount", default_data_reference_name="ws", label="first")
    assert (port.name, port.data_types, port.is_optional, port.label) == ("in1", ["AnyFile", "AnyDirectory"], False,
                                                                           "first")
    out = OutputPortDef("out", default_datastore_name="ws", is_directory=True)
    assert out.data_type == "AnyDirectory" and OutputPortDef("f").data_type == "AnyFile"
    iface = ModuleInterface.from_json(interface_json([port], [out], {"n": 3}))
    assert iface.inputs == [port] and iface.outputs == [out] and iface.params == {"n": 3}


def test_interface_lists_every_problem() -> None:
    with pytest.raises(DefinitionError) as err:
        interface_json([InputPortDef("a"), "b"], [OutputPortDef("a")], {"n": [1]})
    assert len(err.value.problems) == 3
    assert "port name 'a' is used twice" in str(err.value)


class Version:
    """What the SDK's ModuleVersion gives a ModuleStep."""

    def __init__(self, version: str = "1", status: str = "Active", inputs: list[Any] | None = None,
                 outputs: list[Any] | None = None, params: dict[str, Any] | None = None):
        self.spec = {"module": "AddAndMultiply", "module_id": "m1", "version": version, "status": status,
                     "script_name": "calc.py", "snapshot": SNAP, "source_directory": "/gone",
                     "interface": interface_json(inputs, outputs, params)}

    def _headrace_module_version(self) -> dict[str, Any]:
        return self.spec


class Module:
    name = "AddAndMultiply"

    def __init__(self, *versions: Version):
        self.versions = {v.spec["version"]: v for v in versions}

    def resolve(self, version: str | None = None) -> Version:
        return self.versions[version or max(self.versions)]


def test_module_step_compiles_to_a_script_step_with_the_frozen_snapshot() -> None:
    total, product = PipelineData("total"), PipelineData("product", is_directory=False)
    version = Version(outputs=[OutputPortDef("out_sum"), OutputPortDef("out_prod")], params={"initialNum": 12})
    step = ModuleStep(module_version=version, outputs_map={"out_sum": total, "out_prod": product},
                      arguments=["--output_sum", total, "--output_product", product], params={"extra": 1})
    graph = Pipeline(None, steps=[step]).graph()  # the folder it was published from is gone: no matter
    entry = graph["steps"][0]
    assert (entry["name"], entry["script_name"], entry["snapshot"]) == ("AddAndMultiply", "calc.py", SNAP)
    assert entry["module"] == {"name": "AddAndMultiply", "id": "m1", "version": "1"}
    assert entry["outputs"] == ["total", "product"]
    assert entry["environment_variables"] == {"AML_PARAMETER_initialNum": "12", "AML_PARAMETER_extra": "1"}
    assert graph["data"]["product"]["file"] is True and "file" not in graph["data"]["total"]


def test_steps_of_one_module_get_distinct_names() -> None:
    a, b = PipelineData("a"), PipelineData("b")
    module = Module(Version("1", outputs=[OutputPortDef("out")]),
                    Version("2", inputs=[InputPortDef("in")], outputs=[OutputPortDef("out")]))
    first = ModuleStep(module=module, version="1", outputs_map={"out": a}, arguments=[a])
    second = ModuleStep(module=module, inputs_map={"in": a}, outputs_map={"out": b}, arguments=[a, b])
    named = ModuleStep(module=module, name="mine", inputs_map={"in": b}, outputs_map={"out": PipelineData("c")})
    pipeline = Pipeline(None, steps=[first, second, named])
    assert [s["name"] for s in pipeline.graph()["steps"]] == ["AddAndMultiply", "AddAndMultiply_2", "mine"]


def test_module_step_errors_name_step_port_and_version() -> None:
    ports = {"inputs": [InputPortDef("in1"), InputPortDef("opt", is_optional=True)], "outputs": [OutputPortDef("o")]}
    with pytest.raises(DefinitionError, match="exactly one of module and module_version, got neither"):
        ModuleStep()
    with pytest.raises(DefinitionError) as err:
        ModuleStep(module_version=Version("2", **ports), name="mid",
                   inputs_map={"nope": PipelineData("x")}, outputs_map={"out": PipelineData("y")})
    text = "\n".join(err.value.problems)
    assert "step 'mid' (module 'AddAndMultiply' version '2'): inputs_map names port 'nope'" in text
    assert "outputs_map names port 'out', which the version does not declare (its output ports: ['o'])" in text
    assert "required input port 'in1' is not wired" in text and "port 'opt' is not wired" not in text
    with pytest.raises(DefinitionError, match="version '3'\\): the version is Disabled"):
        ModuleStep(module_version=Version("3", "Disabled"))
    with pytest.raises(DefinitionError, match="the version is Deprecated"):
        ModuleStep(module_version=Version("3", "Deprecated"))
    with pytest.raises(DefinitionError, match="module_version must be a ModuleVersion, not str"):
        ModuleStep(module_version="1")
