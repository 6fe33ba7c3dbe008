"""Modules through the SDK, embedded and remote alike: publish versions of a script, choose one, run three
``ModuleStep``s chained through file outputs, and change statuses, defaults and names."""

from __future__ import annotations

from pathlib import Path

import pytest

from headrace import (
    Datastore,
    Experiment,
    InputPortDef,
    Module,
    ModuleStep,
    ModuleVersion,
    OutputPortDef,
    Pipeline,
    PipelineData,
    PipelineParameter,
    RunConfiguration,
)
from headrace.errors import AlreadyExistsError, DefinitionError, NotFoundError

# Adds and multiplies two numbers, each given directly or read from a file; writes each result to a file.
CALC = """
import argparse, os
ap = argparse.ArgumentParser()
ap.add_argument("--a", type=int); ap.add_argument("--b", type=int)
ap.add_argument("--a_file"); ap.add_argument("--b_file"); ap.add_argument("--sum"); ap.add_argument("--prod")
ns = ap.parse_args()
read = lambda direct, path: direct if direct is not None else int(open(path).read())
a, b = read(ns.a, ns.a_file), read(ns.b, ns.b_file)
for path, value in ((ns.sum, a + b), (ns.prod, a * b)):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write(str(value))
print("param", os.environ.get("AML_PARAMETER_start"))
"""


@pytest.fixture
def calc(write_scripts) -> Path:
    return write_scripts({"calc.py": CALC}, name="calc")


def _data(ws, name: str) -> PipelineData:
    return PipelineData(name, datastore=Datastore(ws, "workspaceblobstore"), is_directory=False)


def _outputs() -> list[OutputPortDef]:
    return [OutputPortDef("out_sum", label="sum"), OutputPortDef("out_prod", label="product")]


def test_three_module_steps_chain_their_numbers(ws, calc, tmp_path):
    module = Module.create(ws, name="AddAndMultiply", description="adds and multiplies")
    first = module.publish_python_script("calc.py", "entry", inputs=[], outputs=_outputs(), params={"start": 12},
                                         version="1", source_directory=calc)
    ins = [InputPortDef("in1"), InputPortDef("in2")]
    module.publish_python_script("calc.py", "middle", ins, _outputs(), version="2", is_default=True,
                                 source_directory=calc)
    (calc / "calc.py").write_text("raise SystemExit('edited after publishing')\n")  # versions are frozen
    assert [d.version for d in module.module_version_list()] == ["1", "2"] and module.default_version == "2"
    assert first.interface.params == {"start": 12} and first.interface.outputs[0].label == "sum"

    s1, p1, s2, p2, s3, p3 = (_data(ws, n) for n in ("s1", "p1", "s2", "p2", "s3", "p3"))
    start = PipelineParameter(name="start", default_value=17)
    steps = [
        ModuleStep(module_version=first, outputs_map={"out_sum": s1, "out_prod": p1}, runconfig=RunConfiguration(),
                   arguments=["--sum", s1, "--prod", p1, "--a", start, "--b", "2"]),
        ModuleStep(module=module, inputs_map={"in1": s1, "in2": p1}, outputs_map={"out_sum": s2, "out_prod": p2},
                   arguments=["--a_file", s1, "--b_file", p1, "--sum", s2, "--prod", p2]),
        ModuleStep(module=module, version="2", inputs_map={"in1": s2, "in2": p2},
                   outputs_map={"out_sum": s3, "out_prod": p3},
                   arguments=["--a_file", s2, "--b_file", p2, "--sum", s3, "--prod", p3]),
    ]
    assert [s.module_version.version for s in steps] == ["1", "2", "2"]
    run = Experiment(ws, "modules").submit(Pipeline(workspace=ws, steps=steps))
    assert run.wait_for_completion(show_output=False) == "Finished"
    last = run.find_step_run("AddAndMultiply_3")[0]
    got = {n: (Path(last.get_output_data(n).download(tmp_path / "out")) / n).read_text() for n in ("s3", "p3")}
    assert got == {"s3": "699", "p3": "34238"}  # 17+2=19, 17*2=34; 53, 646; 699, 34238
    # As in Azure ML, the PipelineParameter of the same name wins over the version's default (12).
    assert "param 17" in run.find_step_run("AddAndMultiply")[0].get_stdout_log()


def test_versions_statuses_and_names(ws, calc):
    module = Module.create(ws, "m", "first")
    with pytest.raises(AlreadyExistsError, match=r"Module\.get\(workspace, name='m'\)"):
        Module.create(ws, "m", "again")
    with pytest.raises(DefinitionError, match="no version a step can run"):
        module.resolve()
    v1 = module.publish_python_script("calc.py", "one", [], _outputs(), source_directory=calc)
    v2 = module.publish_python_script("calc.py", "two", [], _outputs(), source_directory=calc)
    assert (v1.version, v2.version, module.resolve().version) == ("1", "2", "2")
    with pytest.raises(AlreadyExistsError):
        module.publish_python_script("calc.py", "dup", [], [], version="2", source_directory=calc)
    with pytest.raises(DefinitionError, match="script 'nope.py' not found"):
        module.publish_python_script("nope.py", "x", [], [], source_directory=calc)

    v2.disable()
    assert ModuleVersion.get(ws, v2.module_version_id).status == "Disabled"
    assert module.resolve().version == "1"
    with pytest.raises(DefinitionError, match=r"version '2'\): the version is Disabled"):
        ModuleStep(module=module, version="2", outputs_map={"out_sum": PipelineData("x")})
    v1.deprecate()
    with pytest.raises(DefinitionError, match="none is Active"):
        module.resolve()
    v1.enable()
    v1.set_description("back")
    assert ModuleVersion.get(ws, v1.module_version_id).description == "back"

    module.set_default_version("2")
    assert module.get_default_version() == "2" and module.get_default().status == "Disabled"
    with pytest.raises(NotFoundError):
        module.set_default_version("9")
    module.set_name("renamed")
    module.set_description("second")
    module.deprecate()
    got = Module.get(ws, name="renamed")
    assert (got.id, got.description, got.status) == (module.id, "second", "Deprecated")
    module.disable()
    with pytest.raises(DefinitionError, match="module 'renamed' is Disabled"):
        ModuleStep(module=module, outputs_map={"out_sum": PipelineData("y")})
    module.enable()
    assert [d.version for d in Module.get_versions(ws, "renamed")] == ["1", "2"]
    assert v1.module().name == "renamed" and [m.name for m in Module.list(ws)] == ["renamed"]
    with pytest.raises(NotFoundError):
        Module.get(ws, name="m")
