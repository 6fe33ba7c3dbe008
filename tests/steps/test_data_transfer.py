"""``DataTransferStep`` between a local datastore, the S3 emulator and Azurite: real step runs, files streamed
through the datastores, folder copies, reuse while the source is unchanged, and the Data Factory ignored."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from headrace import (
    DataFactoryCompute,
    DataReference,
    Datastore,
    DataTransferStep,
    Experiment,
    Pipeline,
    PipelineData,
    PythonScriptStep,
    Workspace,
)
from headrace.errors import DefinitionError

S3 = os.environ.get("HEADRACE_TEST_S3_ENDPOINT")
AZURE = os.environ.get("HEADRACE_TEST_AZURE_CONNECTION_STRING")
AZURE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _cloud(ws: Workspace, kind: str, name: str) -> Datastore:
    if not (S3 if kind == "s3" else AZURE):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"no {kind} emulator: run the tests through scripts/test.sh")
        pytest.skip(f"no {kind} emulator (scripts/emulators.sh)")
    bucket = f"hr-{uuid.uuid4().hex[:12]}"
    if kind == "s3":
        return Datastore.register_s3(ws, name, bucket, endpoint_url=S3, key="testing", secret="testing",
                                     create_if_not_exists=True)
    endpoint = (AZURE or "").split("BlobEndpoint=")[1].rstrip(";")
    return Datastore.register_azure_blob_container(ws, name, bucket, "devstoreaccount1", account_key=AZURE_KEY,
                                                   endpoint=endpoint, create_if_not_exists=True)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "home")


@pytest.fixture
def local(ws: Workspace, tmp_path: Path) -> Datastore:
    folder = tmp_path / "local"
    (folder / "raw" / "sub").mkdir(parents=True)
    (folder / "raw" / "a.csv").write_bytes(b"x,y\n" + b"1,2\n" * 200_000)  # 800 KB: several chunks at 64 KiB
    (folder / "raw" / "sub" / "b.txt").write_text("b")
    return Datastore.register_local(ws, "local", str(folder))


def _finished(run) -> None:
    status = run.wait_for_completion(show_output=False, raise_on_error=False)
    assert status == "Finished", [(s.name, s.get_execution_log()) for s in run.get_steps()]


@pytest.mark.parametrize("kind", ["s3", "azure"])
def test_a_folder_goes_to_the_cloud_and_back(ws, local, kind, monkeypatch, tmp_path):
    from headrace.engine import transfer

    monkeypatch.setattr(transfer, "CHUNK_BYTES", 64 << 10)  # in-process agent: many chunks per file
    cloud = _cloud(ws, kind, "cloud")
    up = DataTransferStep(name="upload", source_data_reference=DataReference(local, "raw", "raw"),
                          destination_data_reference=DataReference(cloud, "landing", "landing"),
                          compute_target=DataFactoryCompute(ws, "adftest"))
    down = DataTransferStep(name="download", source_data_reference=up.get_output(),
                            destination_data_reference=DataReference(local, "back", "back"),
                            source_reference_type="directory", destination_reference_type="directory")
    run = Experiment(ws, "transfer").submit(Pipeline(ws, [down]))  # upload is pulled in through its output
    _finished(run)
    assert sorted(f.path for f in ws.datastores["cloud"].list("landing")) == ["landing/a.csv", "landing/sub/b.txt"]
    [up_run] = run.find_step_run("upload")
    assert "'adftest' (an Azure Data Factory) is not used" in up_run.get_execution_log()
    assert "copied 2 file(s), 800005 bytes" in up_run.get_execution_log()
    root = tmp_path / "local"
    assert (root / "back" / "a.csv").read_bytes() == (root / "raw" / "a.csv").read_bytes()
    assert (root / "back" / "sub" / "b.txt").read_text() == "b"


def test_a_copy_is_reused_until_the_source_changes(ws, local, tmp_path):
    def submit():
        step = DataTransferStep(name="copy", source_data_reference=DataReference(local, "a", "raw/a.csv"),
                                destination_data_reference=DataReference(local, "dest", "copies"))
        run = Experiment(ws, "transfer-reuse").submit(Pipeline(ws, [step]))
        _finished(run)
        return run.get_steps()[0]

    root = tmp_path / "local"
    (root / "copies").mkdir()
    assert not submit().is_reused
    assert (root / "copies" / "a.csv").stat().st_size == 800004  # a file to an existing folder keeps its name
    assert submit().is_reused
    (root / "raw" / "a.csv").write_text("changed")
    assert not submit().is_reused
    assert (root / "copies" / "a.csv").read_text() == "changed"


def test_a_later_step_reads_the_copy(ws, local, write_scripts):
    src = write_scripts({"count.py": "import sys, os\nprint(sorted(os.listdir(sys.argv[1])))\n"})
    copied = PipelineData("copied", datastore=local)
    copy = DataTransferStep(name="copy", source_data_reference=DataReference(local, "raw", "raw"),
                            destination_data_reference=copied)
    count = PythonScriptStep("count.py", source_directory=str(src), arguments=[copy.get_output()],
                             inputs=[copy.get_output()])
    run = Experiment(ws, "transfer-chain").submit(Pipeline(ws, [count]))
    _finished(run)
    assert run.find_step_run("count.py")[0].get_stdout_log() == "['a.csv', 'sub']\n"


def test_a_missing_source_fails_the_step_with_its_path(ws, local):
    step = DataTransferStep(name="copy", source_data_reference=DataReference(local, "nothing", "nothing/here"),
                            destination_data_reference=DataReference(local, "dest", "dest"))
    run = Experiment(ws, "transfer-missing").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(show_output=False, raise_on_error=False) == "Failed"
    assert "source local/nothing/here does not exist" in run.get_steps()[0].get_execution_log()


def test_bad_definitions_are_refused(ws, local):
    ref = DataReference(local, "raw", "raw")
    with pytest.raises(DefinitionError, match="destination_data_reference"):
        DataTransferStep(name="x", source_data_reference=ref)
    with pytest.raises(DefinitionError, match="source_data_reference"):
        DataTransferStep(name="x", destination_data_reference=ref)
    with pytest.raises(DefinitionError, match="possible values: 'file', 'directory'"):
        DataTransferStep(name="x", source_data_reference=ref, destination_data_reference=ref,
                         source_reference_type="blob")


def test_a_file_dataset_is_copied_with_its_folder_layout(ws, local, tmp_path):
    from headrace import Dataset

    files = Dataset.File.from_files(path=(local, "raw/**"))
    step = DataTransferStep(name="copy", source_data_reference=files,
                            destination_data_reference=DataReference(local, "snapshot", "snapshot"))
    run = Experiment(ws, "transfer-dataset").submit(Pipeline(ws, [step]))
    _finished(run)
    root = tmp_path / "local"
    assert sorted(p.relative_to(root / "snapshot").as_posix() for p in (root / "snapshot").rglob("*.*")) == [
        "a.csv", "sub/b.txt"]
    assert "copied 2 file(s)" in run.get_steps()[0].get_execution_log()
