"""The loop of issue 18, end to end on an embedded workspace: a training pipeline run registers a model;
moving that version to Production fires a trigger that runs the release pipeline (which reads the model
from the registry), and a webhook subscribed to the event reaches a real HTTP receiver on loopback with
a signature the Standard Webhooks reference library verifies.

Real parts: the SDK as users call it, the in-process agent running each step as a subprocess, the
events dispatcher beside it, an HTTP server on 127.0.0.1. The clock is frozen (``clock``), so every
recorded time is known; the test waits on the receiver and on runs, never on a sleep.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from standardwebhooks import Webhook as Verifier
from standardwebhooks import WebhookVerificationError

from headrace import (
    Experiment,
    Pipeline,
    PipelineData,
    PipelineParameter,
    PythonScriptStep,
    Trigger,
    Webhook,
    Workspace,
)
from webhook_receiver import receiver

from .conftest import T0, FakeClock

TRAIN = r'''
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "model.pkl"), "wb").write(b"coefficients 1.5 -2.0")
'''

RELEASE = r'''
import argparse
from headrace import Model
p = argparse.ArgumentParser(); p.add_argument("--model"); p.add_argument("--version", type=int); a = p.parse_args()
print("releasing", a.model, a.version, open(Model.get_model_path(a.model, version=a.version)).read())
'''


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> Workspace:
    monkeypatch.setenv("HEADRACE_WEBHOOKS__ALLOWED_NETWORKS", "127.0.0.0/8")
    return Workspace(tmp_path / "home")


def _release_pipeline(ws: Workspace, scripts: Path, home: Path):
    name, version = PipelineParameter("model_name", default_value="none"), PipelineParameter("model_version", default_value=0)
    step = PythonScriptStep(name="release", script_name="release.py", source_directory=str(scripts),
                            arguments=["--model", name, "--version", version], allow_reuse=False,
                            environment_variables={"HEADRACE_HOME": str(home)})  # the step reads the registry
    return Pipeline(ws, [step]).publish(name="release")


def test_a_model_moved_to_production_starts_the_release_and_a_signed_webhook(ws: Workspace, write_scripts,
                                                                           tmp_path: Path) -> None:
    scripts = write_scripts({"train.py": TRAIN, "release.py": RELEASE})
    release = _release_pipeline(ws, scripts, tmp_path / "home")
    only_production = {"model": "churn", "stage": "Production"}
    trigger = Trigger.create(ws, "ship-churn", event="model.stage_changed", pipeline_id=release.id,
                             experiment_name="release", filters=only_production,
                             pipeline_parameters={"model_name": "@triggerBody().data.model_name",
                                                  "model_version": "@triggerBody().data.version"})
    with receiver() as r:
        hook = Webhook.create(ws, "release-notes", url=r.url + "/hooks", events=["model.stage_changed"],
                              filters=only_production)

        out = PipelineData("model_out", datastore=ws.get_default_datastore())
        train = PythonScriptStep(name="train", script_name="train.py", source_directory=str(scripts),
                                 arguments=["--out", out], outputs=[out])
        training = Experiment(ws, "training").submit(Pipeline(ws, [train]))
        assert training.wait_for_completion(show_output=False) == "Finished"
        model = training.register_model("churn", model_path="model_out/model.pkl", tags={"team": "crm"})
        assert (model.version, model.run_id, model.step_name) == (1, training.id, "train")
        model.transition_stage("Staging")  # neither the trigger's nor the webhook's filter: nothing happens
        model.transition_stage("Production", comment="auc 0.91 on the holdout")

        [got] = r.wait_for(1)
        message = Verifier(hook.secret).verify(got.body, got.headers)  # raises unless signed with the secret
        assert got.path == "/hooks" and got.headers["webhook-id"].startswith("msg_")
        assert (message["type"], message["timestamp"]) == ("model.stage_changed", T0.isoformat().replace("+00:00", "Z"))
        data = message["data"]
        assert (data["model_name"], data["version"], data["from_stage"], data["stage"]) == ("churn", 1, "Staging",
                                                                                           "Production")
        assert data["comment"] == "auc 0.91 on the holdout" and data["run_id"] == training.id
        forged = dict(got.headers, **{"webhook-signature": "v1,AAAA"})
        with pytest.raises(WebhookVerificationError, match="No matching signature"):
            Verifier(hook.secret).verify(got.body, forged)

        # The trigger ran before the webhook went out (an event's fires come first, then its deliveries).
        [shipped] = trigger.get_pipeline_runs()
        assert shipped.wait_for_completion(show_output=False) == "Finished"
        log = shipped.find_step_run("release")[0].get_stdout_log()
        assert "releasing churn 1 coefficients 1.5 -2.0" in log
        assert [d.id for d in hook.get_deliveries()] == [got.headers["webhook-id"]]
    ticks = sorted(trigger.get_ticks(), key=lambda t: t.outcome)
    assert [t.outcome for t in ticks] == ["fired", "skipped"] and ticks[0].run_ids == [shipped.id]
    assert [(h["from_stage"], h["to_stage"]) for h in model.get_stage_history()] == [
        ("None", "Staging"), ("Staging", "Production")]
    assert all(h["changed_time"] == T0 for h in model.get_stage_history())
