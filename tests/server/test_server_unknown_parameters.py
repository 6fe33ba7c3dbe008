"""Unknown keys in ParameterAssignments: a 400 by default; with the server set to ``warn``, the run is
queued without them and the warning is recorded on the run. headrace's own SDK stays strict."""

from __future__ import annotations

import pytest

from headrace import PipelineRun, PublishedPipeline, Workspace
from headrace.config import load_settings
from headrace.errors import ConfigError, UnknownParameterError
from headrace.wiring import build_services

BODY = {"ExperimentName": "extra-keys", "RunSource": "SDK", "ParameterAssignments": {"tag": "extra", "1": "united"}}


def test_unknown_parameter_is_a_400_by_default(live, published):
    r = live.client("submitter").post(f"/pipelines/{published}/submit", json=BODY)
    assert r.status_code == 400
    assert "'1'" in r.json()["Error"]["Message"] and "valid parameters" in r.json()["Error"]["Message"]


def test_warn_setting_queues_the_run_and_records_the_warning(live, published):
    live.svc.unknown_parameters = "warn"
    sub = live.client("submitter")
    r = sub.post(f"/pipelines/{published}/submit", json=BODY)
    assert r.status_code == 200, r.text
    run = live.wait_run(r.json()["Id"])
    assert run["Status"] == "Finished" and live.seen("extra")["tag"] == "extra"
    warning = run["Properties"]["headrace.warnings"]
    assert "'1'" in warning and "valid parameters" in warning

    ws = Workspace(url=live.url, token=live.tokens["reader"])
    details = PipelineRun.get(ws, r.json()["Id"]).get_details()
    assert details["warnings"] == [{"source": "headrace", "message": warning}]

    # A client may ask for the strict reading per request; headrace's SDK always does.
    strict = sub.post(f"/pipelines/{published}/submit", json=BODY, headers={"Headrace-Unknown-Parameters": "error"})
    assert strict.status_code == 400
    admin_ws = Workspace(url=live.url, token=live.tokens["admin"])
    with pytest.raises(UnknownParameterError, match="'1'"):
        PublishedPipeline.get(admin_ws, published).submit(admin_ws, "sdk", pipeline_parameters={"1": "x"})
    bad = sub.post(f"/pipelines/{published}/submit", json=BODY, headers={"Headrace-Unknown-Parameters": "maybe"})
    assert bad.status_code == 400


def test_setting_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADRACE_SERVER__UNKNOWN_PARAMETERS", "warn")
    svc = build_services(load_settings(home=tmp_path / "home"))
    try:
        assert svc.unknown_parameters == "warn"
    finally:
        svc.store.close()
    monkeypatch.setenv("HEADRACE_SERVER__UNKNOWN_PARAMETERS", "ignore")
    with pytest.raises(ConfigError, match="unknown_parameters"):
        load_settings(home=tmp_path / "home")
