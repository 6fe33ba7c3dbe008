"""HyperDrive sweeps (``HyperDriveConfig`` + ``Experiment.submit``): samplings, limits, the best run and early
termination, embedded and remote alike. Trials are real script runs."""

from __future__ import annotations

import json
import math

import pytest

from headrace import (
    BanditPolicy,
    BayesianParameterSampling,
    Experiment,
    GridParameterSampling,
    HyperDriveConfig,
    HyperDriveRun,
    MedianStoppingPolicy,
    PrimaryMetricGoal,
    RandomParameterSampling,
    Run,
    ScriptRun,
    ScriptRunConfig,
    TruncationSelectionPolicy,
    choice,
    loguniform,
    normal,
    quniform,
    randint,
    uniform,
)
from headrace.errors import DefinitionError

TRAIN = r'''
import argparse
from headrace import Run
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float, default=0.1); p.add_argument("--n", type=int, default=1)
p.add_argument("--x", type=float, default=0.0); p.add_argument("--k", type=int, default=0)
p.add_argument("--z", type=float, default=0.0)
a = p.parse_args()
run = Run.get_context()
run.log("lr", a.lr); run.log("n", a.n); run.log("x", a.x); run.log("k", a.k); run.log("z", a.z)
run.log("accuracy", a.n * 0.1 + a.lr)
print("parent", run.parent.id)
'''

RACE = r'''
import argparse, os, time
from headrace import Run
p = argparse.ArgumentParser(); p.add_argument("--marker"); p.add_argument("--quality"); a = p.parse_args()
run = Run.get_context()
if a.quality == "good":
    run.log("accuracy", 0.9)
    open(a.marker, "w").close()
else:
    deadline = time.monotonic() + 60
    while not os.path.exists(a.marker) and time.monotonic() < deadline:
        time.sleep(0.02)
    while time.monotonic() < deadline:   # logs until the policy stops it
        run.log("accuracy", 0.1)
        time.sleep(0.05)
'''


@pytest.fixture
def src(write_scripts):
    return write_scripts({"train.py": TRAIN, "race.py": RACE}, name="sweep-src")


def test_grid_sweep_runs_every_point_and_finds_the_best(ws, src):
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(str(src), "train.py"),
        hyperparameter_sampling=GridParameterSampling({"--lr": choice(0.01, 0.02), "--n": choice(1, 3)}),
        primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE, max_concurrent_runs=2)
    assert config.max_total_runs == 4
    exp = Experiment(ws, "grid-sweep")
    run = exp.submit(config)
    assert isinstance(run, HyperDriveRun) and run.type == "hyperdrive"
    assert run.wait_for_completion()["status"] == "Completed"

    children = list(run.get_children())
    assert len(children) == 4 and all(isinstance(c, ScriptRun) and c.get_status() == "Completed" for c in children)
    points = sorted((h["--lr"], h["--n"]) for h in run.get_hyperparameters().values())
    assert points == [(0.01, 1), (0.01, 3), (0.02, 1), (0.02, 3)]
    ranked = run.get_children_sorted_by_primary_metric()
    assert [r["best_primary_metric"] for r in ranked] == pytest.approx([0.32, 0.31, 0.12, 0.11])
    assert json.loads(ranked[0]["hyperparameters"]) == {"--lr": 0.02, "--n": 3}
    best = run.get_best_run_by_primary_metric()
    assert best.id == ranked[0]["run_id"] and best.get_metrics()["accuracy"] == pytest.approx(0.32)
    assert best.parent.id == run.id and run.get_properties()["best_child_run_id"] == best.id
    assert "parent " + run.id in best.get_details_with_logs()["logFiles"]["logs/azureml/stdoutlogs.txt"]
    assert set(run.get_metrics()) == {c.id for c in children}
    assert [r.id for r in exp.get_runs()] == [run.id]  # trials are children
    assert isinstance(Run.get(ws, run.id), HyperDriveRun)


def test_random_and_bayesian_sweeps_sample_within_their_spaces(ws, src):
    space = {"--lr": uniform(0.01, 0.1), "--x": loguniform(math.log(1e-3), math.log(1e-1)),
             "--k": randint(5), "--z": normal(0, 1), "--n": choice(1, 2)}
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(str(src), "train.py"), hyperparameter_sampling=RandomParameterSampling(space),
        primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MINIMIZE,
        max_total_runs=3, max_concurrent_runs=3)
    run = Experiment(ws, "random-sweep").submit(config)
    run.wait_for_completion()
    for metrics in run.get_metrics().values():
        assert 0.01 <= metrics["lr"] <= 0.1 and 1e-3 <= metrics["x"] <= 1e-1 and metrics["k"] in range(5)
        assert metrics["n"] in (1, 2) and isinstance(metrics["z"], float)
    ranked = run.get_children_sorted_by_primary_metric()
    assert ranked[0]["best_primary_metric"] <= ranked[-1]["best_primary_metric"]  # minimize: smallest first

    bayes = HyperDriveConfig(
        run_config=ScriptRunConfig(str(src), "train.py"),
        hyperparameter_sampling=BayesianParameterSampling({"--lr": uniform(0.01, 0.1), "--n": choice(1, 2, 3)}),
        primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=3, max_concurrent_runs=1)
    done = Experiment(ws, "bayes-sweep").submit(bayes)
    assert done.wait_for_completion()["status"] == "Completed" and len(list(done.get_children())) == 3


def test_bandit_policy_stops_a_trial_that_falls_behind(ws, src, tmp_path):
    marker = tmp_path / "good-done"
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(str(src), "race.py", arguments=["--marker", str(marker)]),
        hyperparameter_sampling=GridParameterSampling({"--quality": choice("good", "bad")}),
        policy=BanditPolicy(evaluation_interval=1, slack_amount=0.2),
        primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE, max_concurrent_runs=2)
    run = Experiment(ws, "bandit").submit(config)
    assert run.wait_for_completion()["status"] == "Completed"
    status = {json.loads(r["hyperparameters"])["--quality"]: r["status"]
              for r in run.get_children_sorted_by_primary_metric()}
    assert status == {"good": "Completed", "bad": "Canceled"}
    assert json.loads(run.get_best_run_by_primary_metric().get_tags()["hyperparameters"]) == {"--quality": "good"}


@pytest.mark.parametrize("policy", [MedianStoppingPolicy(delay_evaluation=1), TruncationSelectionPolicy(50)])
def test_optuna_pruner_policies_run_a_sweep(ws, src, policy):
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(str(src), "train.py"),
        hyperparameter_sampling=RandomParameterSampling({"--lr": quniform(0.01, 0.05, 0.01)}), policy=policy,
        primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        max_total_runs=2, max_concurrent_runs=1)
    run = Experiment(ws, "pruned-sweep").submit(config)
    assert run.wait_for_completion()["status"] == "Completed"
    assert run.hyperdrive_config["policy"]["name"] == policy.POLICY_NAME
    for hyper in run.get_hyperparameters().values():
        assert round(hyper["--lr"] * 100) == pytest.approx(hyper["--lr"] * 100)


def test_cancelling_a_sweep_cancels_its_trials(ws, src, tmp_path, wait_until):
    config = HyperDriveConfig(
        run_config=ScriptRunConfig(str(src), "race.py", arguments=["--marker", str(tmp_path / "never")]),
        hyperparameter_sampling=GridParameterSampling({"--quality": choice("bad")}),
        primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE)
    run = Experiment(ws, "cancel-sweep").submit(config)
    wait_until(lambda: len(list(run.get_children())) == 1, timeout=30)
    run.cancel()
    assert run.wait_for_completion(raise_on_error=False)["status"] == "Canceled"
    [child] = run.get_children()
    wait_until(lambda: child.get_status() == "Canceled", timeout=30)


def test_sweep_definitions_are_checked():
    cfg = ScriptRunConfig(".", "train.py")
    with pytest.raises(DefinitionError, match="GRID sampling does not take uniform"):
        GridParameterSampling({"--lr": uniform(0, 1)})
    with pytest.raises(DefinitionError, match="Bayesian"):
        HyperDriveConfig(run_config=cfg, hyperparameter_sampling=BayesianParameterSampling({"--lr": uniform(0, 1)}),
                         policy=MedianStoppingPolicy(), primary_metric_name="a",
                         primary_metric_goal=PrimaryMetricGoal.MAXIMIZE, max_total_runs=2)
    with pytest.raises(DefinitionError, match="max_total_runs"):
        HyperDriveConfig(run_config=cfg, hyperparameter_sampling=RandomParameterSampling({"--lr": quniform(0, 1, 0.1)}),
                         primary_metric_name="a", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE)
    with pytest.raises(DefinitionError, match="slack"):
        BanditPolicy(slack_factor=0.1, slack_amount=0.2)
    with pytest.raises(DefinitionError, match="truncation_percentage"):
        TruncationSelectionPolicy(0)
    policy = TruncationSelectionPolicy(20, evaluation_interval=2, delay_evaluation=1)
    assert [policy.due(step) for step in range(5)] == [False, False, True, False, True]
    assert BanditPolicy(slack_factor=0.1).stops(0.8, 0.9, PrimaryMetricGoal.MAXIMIZE)
    assert not BanditPolicy(slack_factor=0.2).stops(0.8, 0.9, PrimaryMetricGoal.MAXIMIZE)
    assert BanditPolicy(slack_amount=0.1).stops(0.25, 0.1, PrimaryMetricGoal.MINIMIZE)
