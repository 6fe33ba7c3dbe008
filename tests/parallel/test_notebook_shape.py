"""Microsoft's parallel-run notebooks (Azure/MachineLearningNotebooks, how-to-use-azureml/machine-learning-pipelines/
parallel-run/), as their cells call the API, run through the ``azureml`` compatibility package with no edit but
the data source: the images and the iris table live on the default datastore here instead of a public blob
container, and the entry scripts are small ones of the same shape (no model download)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

MNIST_NOTEBOOK = '''
import os
from azureml.core import Workspace
ws = Workspace.from_config()

from azureml.core.compute import AmlCompute, ComputeTarget
compute_name = os.environ.get("AML_COMPUTE_CLUSTER_NAME", "cpu-cluster")
if compute_name in ws.compute_targets:
    compute_target = ws.compute_targets[compute_name]
else:
    provisioning_config = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2", min_nodes=0, max_nodes=4)
    compute_target = ComputeTarget.create(ws, compute_name, provisioning_config)
    compute_target.wait_for_completion(show_output=True, min_node_count=None, timeout_in_minutes=20)

mnist_data = ws.get_default_datastore()  # the notebook registers a public blob container here
mnist_data.upload("mnist", target_path="mnist", overwrite=True)
def_data_store = ws.get_default_datastore()

from azureml.core.dataset import Dataset
path_on_datastore = mnist_data.path('mnist')
input_mnist_ds = Dataset.File.from_files(path=path_on_datastore, validate=False)

from azureml.data.dataset_consumption_config import DatasetConsumptionConfig
from azureml.pipeline.core import PipelineParameter
pipeline_param = PipelineParameter(name="mnist_param", default_value=input_mnist_ds)
input_mnist_ds_consumption = DatasetConsumptionConfig("minist_param_config", pipeline_param).as_mount()

from azureml.pipeline.core import Pipeline, PipelineData
output_dir = PipelineData(name="inferences", datastore=def_data_store)

scripts_folder = "Code"
script_file = "digit_identification.py"

from azureml.core import Environment
from azureml.core.runconfig import CondaDependencies, DEFAULT_CPU_IMAGE
batch_env = Environment(name="batch_environment")
batch_env.docker.base_image = DEFAULT_CPU_IMAGE

from azureml.pipeline.steps import ParallelRunStep, ParallelRunConfig
parallel_run_config = ParallelRunConfig(
    source_directory=scripts_folder,
    entry_script=script_file,
    mini_batch_size=PipelineParameter(name="batch_size_param", default_value="5"),
    error_threshold=10,
    output_action="append_row",
    append_row_file_name="mnist_outputs.txt",
    environment=batch_env,
    compute_target=compute_target,
    process_count_per_node=PipelineParameter(name="process_count_param", default_value=2),
    node_count=2
)
parallelrun_step = ParallelRunStep(
    name="predict-digits-mnist",
    parallel_run_config=parallel_run_config,
    inputs=[ input_mnist_ds_consumption ],
    output=output_dir,
    allow_reuse=False
)

from azureml.core import Experiment
pipeline = Pipeline(workspace=ws, steps=[parallelrun_step])
experiment = Experiment(ws, 'digit_identification')
pipeline_run = experiment.submit(pipeline)
pipeline_run.wait_for_completion(show_output=True)

import pandas as pd
import tempfile
batch_run = pipeline_run.find_step_run(parallelrun_step.name)[0]
batch_output = batch_run.get_output_data(output_dir.name)
target_dir = tempfile.mkdtemp()
batch_output.download(local_path=target_dir)
result_file = os.path.join(target_dir, batch_output.path_on_datastore, parallel_run_config.append_row_file_name)
df = pd.read_csv(result_file, delimiter=":", header=None)
df.columns = ["Filename", "Prediction"]
print("Prediction has ", df.shape[0], " rows")
print("first", sorted(df["Filename"])[:2], "digits", sorted(set(df["Prediction"])))

path_on_datastore = mnist_data.path('mnist/0.png')
single_image_ds = Dataset.File.from_files(path=path_on_datastore, validate=False)
pipeline_run_2 = experiment.submit(pipeline,
                                   pipeline_parameters={"mnist_param": single_image_ds,
                                                        "batch_size_param": "1",
                                                        "process_count_param": 1}
)
pipeline_run_2.wait_for_completion(show_output=True)
print("second run", pipeline_run_2.get_status())
'''

DIGITS = '''
import os
import numpy as np


def init():
    global g_model
    # The notebook restores a TensorFlow graph here; this model is a lookup table of the same shape of use.
    g_model = {str(i): i for i in range(10)}


def run(mini_batch):
    print(f'run method start: {__file__}, run({mini_batch})')
    resultList = []
    for image in mini_batch:
        data = open(image, "rb").read()
        best_result = int(np.argmax([data.count(str(d).encode()) for d in range(10)]))
        resultList.append("{}: {}".format(os.path.basename(image), best_result))
    return resultList
'''

IRIS_NOTEBOOK = '''
import os
from azureml.core import Workspace, Datastore
from azureml.core.dataset import Dataset
from azureml.pipeline.core import PipelineData
ws = Workspace.from_config()
datastore = ws.get_default_datastore()
datastore.upload("iris", target_path="iris", overwrite=True)
iris_ds_name = 'iris_data'
path_on_datastore = datastore.path('iris/iris.csv')
iris_ds = Dataset.Tabular.from_delimited_files(path=path_on_datastore, validate=False)
named_iris_ds = iris_ds.as_named_input(iris_ds_name)
output_folder = PipelineData(name='inferences', datastore=datastore)

scripts_folder = "Code"
script_file = "iris_score.py"

from azureml.core import Environment
from azureml.core.runconfig import CondaDependencies
predict_env = Environment(name="predict_environment")

from azureml.pipeline.steps import ParallelRunStep, ParallelRunConfig
parallel_run_config = ParallelRunConfig(
    source_directory=scripts_folder,
    entry_script=script_file,  # the user script to run against each input
    mini_batch_size='5KB',
    error_threshold=5,
    output_action='append_row',
    append_row_file_name="iris_outputs.txt",
    environment=predict_env,
    compute_target="local",
    node_count=3,
    run_invocation_timeout=600
)
distributed_csv_iris_step = ParallelRunStep(
    name='example-iris',
    inputs=[named_iris_ds],
    output=output_folder,
    parallel_run_config=parallel_run_config,
    arguments=['--model_name', 'iris-prs'],
    allow_reuse=True
)

from azureml.core import Experiment
from azureml.pipeline.core import Pipeline
pipeline = Pipeline(workspace=ws, steps=[distributed_csv_iris_step])
pipeline_run = Experiment(ws, 'iris-prs').submit(pipeline)
pipeline_run.wait_for_completion(show_output=True)

import pandas as pd
import shutil
shutil.rmtree("iris_results", ignore_errors=True)
prediction_run = next(pipeline_run.get_children())
prediction_output = prediction_run.get_output_data("inferences")
prediction_output.download(local_path="iris_results")
for root, dirs, files in os.walk("iris_results"):
    for file in files:
        if file.endswith('iris_outputs.txt'):
            result_file = os.path.join(root,file)
df = pd.read_csv(result_file, delimiter=" ", header=None)
df.columns = ["sepal.length", "sepal.width", "petal.length", "petal.width", "variety"]
print("Prediction has ", df.shape[0], " rows")
print("varieties", sorted(set(df["variety"])))
'''

IRIS_SCORE = '''
import argparse
from azureml_user.parallel_run import EntryScript


def init():
    global iris_model
    logger = EntryScript().logger
    logger.info("init() is called.")
    parser = argparse.ArgumentParser(description="Iris model serving")
    parser.add_argument('--model_name', dest="model_name", required=True)
    args, unknown_args = parser.parse_known_args()
    assert args.model_name == "iris-prs"
    iris_model = lambda frame: ["setosa" if p < 2.5 else "versicolor" if p < 5 else "virginica"
                                for p in frame["petal.length"]]


def run(input_data):
    logger = EntryScript().logger
    logger.info("run() is called with: {}.".format(input_data))
    pred = iris_model(input_data)
    result = input_data.drop(input_data.columns[4:], axis=1)
    result['variety'] = pred
    return result
'''


def run_notebook(tmp_path: Path, notebook: str) -> subprocess.CompletedProcess:
    (tmp_path / "notebook.py").write_text(textwrap.dedent(notebook))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    env["HEADRACE_HOME"] = str(tmp_path / "home")
    return subprocess.run([sys.executable, "notebook.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_mnist_file_dataset_notebook_runs_unchanged(tmp_path: Path):
    (tmp_path / "Code").mkdir()
    (tmp_path / "Code" / "digit_identification.py").write_text(DIGITS)
    (tmp_path / "mnist").mkdir()
    for i in range(12):
        (tmp_path / "mnist" / f"{i}.png").write_bytes(str(i % 10).encode() * 20 + b"\x89PNG")
    done = run_notebook(tmp_path, MNIST_NOTEBOOK)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Prediction has  12  rows" in done.stdout
    assert "first ['0.png', '1.png'] digits [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]" in done.stdout
    assert "second run Finished" in done.stdout


def test_the_iris_tabular_dataset_notebook_runs_unchanged(tmp_path: Path):
    (tmp_path / "Code").mkdir()
    (tmp_path / "Code" / "iris_score.py").write_text(IRIS_SCORE)
    (tmp_path / "iris").mkdir()
    rows = [(5.1, 3.5, 1.4, 0.2), (6.4, 3.2, 4.5, 1.5), (6.3, 3.3, 6.0, 2.5)] * 100
    (tmp_path / "iris" / "iris.csv").write_text(
        '"sepal.length","sepal.width","petal.length","petal.width","variety"\n'
        + "".join(f"{a},{b},{c},{d},unknown\n" for a, b, c, d in rows))
    done = run_notebook(tmp_path, IRIS_NOTEBOOK)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Prediction has  300  rows" in done.stdout
    assert "varieties ['setosa', 'versicolor', 'virginica']" in done.stdout
