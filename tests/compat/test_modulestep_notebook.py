"""The shape of Microsoft's ModuleStep notebook (aml-pipelines-how-to-use-modulestep.ipynb in
Azure/MachineLearningNotebooks): its cells' calls, in their order, through the ``azureml`` compatibility package,
run as a script with a ``config.json``. The step script is a small one of ours with the same command line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

# The notebook's cells, one block each: workspace and compute, the module, two versions, three steps, submit.
NOTEBOOK = '''
from azureml.core import Workspace, Experiment, Datastore, RunConfiguration
from azureml.core.compute import AmlCompute
from azureml.core.compute import ComputeTarget
from azureml.pipeline.core import Pipeline, PipelineData, PipelineParameter
from azureml.pipeline.core.graph import InputPortDef, OutputPortDef
from azureml.pipeline.core.module import Module
from azureml.pipeline.steps import ModuleStep

workspace = Workspace.from_config()
print(workspace.name, workspace.resource_group, workspace.location, workspace.subscription_id, sep="\\n")
cluster = "cpu-cluster"
try:
    compute = AmlCompute(workspace, cluster)
except:  # noqa: E722 - as the notebook has it
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", min_nodes=1, max_nodes=4)
    compute = ComputeTarget.create(workspace, cluster, config)
    compute.wait_for_completion(show_output=True, min_node_count=None, timeout_in_minutes=20)
datastore = Datastore(workspace=workspace, name="workspaceblobstore")

module = Module.create(workspace, name="AddAndMultiply", description="A module that adds and multiplies")

def out_ports():
    return [OutputPortDef(name=port, default_datastore_name=datastore.name, default_datastore_mode="mount",
                          label=text) for port, text in (("out_sum", "Sum"), ("out_prod", "Product"))]

entry_version = module.publish_python_script("calculate.py", "initial", inputs=[], outputs=out_ports(),
                                             params={"initialNum": 12}, version="1", source_directory="./calc")

in_ports = [InputPortDef(name=port, default_datastore_mode="mount", default_data_reference_name=datastore.name,
                         label=port) for port in ("in1", "in2")]
module.publish_python_script("calculate.py", "middle", inputs=in_ports, outputs=out_ports(), version="2",
                             is_default=True, source_directory="./calc")

def data(name):
    return PipelineData(name, datastore=datastore, output_mode="mount", is_directory=False)

first_sum, first_prod = data("sum_out"), data("prod_out")
first_num = PipelineParameter(name="initialNum", default_value=17)
first_step = ModuleStep(module_version=entry_version, inputs_map={},
                        outputs_map={"out_sum": first_sum, "out_prod": first_prod},
                        runconfig=RunConfiguration(), compute_target=compute,
                        arguments=["--output_sum", first_sum, "--output_product", first_prod,
                                   "--arg_num1", first_num, "--arg_num2", "2"])

middle_sum, middle_prod = data("middle_sum"), data("middle_prod")
middle_step = ModuleStep(module=module, inputs_map={"in1": first_sum, "in2": first_prod},
                         outputs_map={"out_sum": middle_sum, "out_prod": middle_prod},
                         runconfig=RunConfiguration(), compute_target=compute,
                         arguments=["--file_num1", first_sum, "--file_num2", first_prod,
                                    "--output_sum", middle_sum, "--output_product", middle_prod])

end_sum, end_prod = data("end_sum"), data("end_prod")
end_step = ModuleStep(module=module, version="2", inputs_map={"in1": middle_sum, "in2": middle_prod},
                      outputs_map={"out_sum": end_sum, "out_prod": end_prod},
                      runconfig=RunConfiguration(), compute_target=compute,
                      arguments=["--file_num1", middle_sum, "--file_num2", middle_prod,
                                 "--output_sum", end_sum, "--output_product", end_prod])

pipeline = Pipeline(workspace=workspace, steps=[first_step, middle_step, end_step])
experiment = Experiment(workspace, "testmodulestesp")
experiment.submit(pipeline)
'''

# Our own script with the notebook script's command line: numbers given directly or read from files, and
# their sum and product each written to the file it is given.
CALCULATE = '''
import argparse
import os

parser = argparse.ArgumentParser("calculate")
parser.add_argument("--arg_num1", type=int)
parser.add_argument("--arg_num2", type=int)
for name in ("--file_num1", "--file_num2", "--output_sum", "--output_product"):
    parser.add_argument(name)
args = parser.parse_args()

def number(given, path):
    if given is not None:
        return given
    with open(path, encoding="utf-8-sig") as handle:
        return int(handle.read())

def write(value, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(str(value))

one, two = number(args.arg_num1, args.file_num1), number(args.arg_num2, args.file_num2)
write(one + two, args.output_sum)
write(one * two, args.output_product)
'''


def test_the_modulestep_notebook_runs_and_computes_its_numbers(tmp_path: Path):
    (tmp_path / "calc").mkdir()
    (tmp_path / "calc" / "calculate.py").write_text(textwrap.dedent(CALCULATE))
    (tmp_path / "notebook.py").write_text(textwrap.dedent(NOTEBOOK))
    (tmp_path / "config.json").write_text('{"home": "home", "workspace_name": "modules"}')
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    done = subprocess.run([sys.executable, "notebook.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    assert "Finished" in done.stderr + done.stdout  # the process waits for its run before it exits
    runs = tmp_path / "home" / "datastores" / "workspaceblobstore" / "headrace" / "runs"
    (run,) = runs.iterdir()
    numbers = {p.name: p.read_text() for p in run.glob("*/*/*") if p.is_file()}
    # 17+2=19 and 17*2=34; then 19+34=53 and 19*34=646; then 53+646=699 and 53*646=34238.
    assert numbers == {"sum_out": "19", "prod_out": "34", "middle_sum": "53", "middle_prod": "646",
                       "end_sum": "699", "end_prod": "34238"}
    assert {p.name for p in run.iterdir()} == {"AddAndMultiply", "AddAndMultiply_2", "AddAndMultiply_3"}
