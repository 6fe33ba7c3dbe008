"""A sweep's Optuna study: samplings as Optuna samplers, policies as pruners (or Azure ML's own rule for
Bandit), parameter expressions as Optuna distributions with Azure ML's meaning.

Optuna has no normal distributions: a normal-family expression is asked as a uniform quantile in (0, 1) and
turned into its value with the inverse normal CDF, which keeps its law for random sampling and gives the
model-based sampler a bounded space to model.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

from headrace.core.sweeps import (
    BanditPolicy,
    BayesianParameterSampling,
    GridParameterSampling,
    HyperDriveConfig,
    MedianStoppingPolicy,
    ParameterExpression,
    PrimaryMetricGoal,
    TruncationSelectionPolicy,
)

_EPS = 1e-9


def make_study(config: HyperDriveConfig, seed: int | None = None) -> Any:
    """The study that samples ``config``'s trials (grid points are enqueued in order) and prunes them."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampling, policy = config.hyperparameter_sampling, config.policy
    if isinstance(sampling, BayesianParameterSampling):
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(2, config.max_concurrent_runs)))
    else:
        sampler = optuna.samplers.RandomSampler(seed=seed)
    pruner: Any = optuna.pruners.NopPruner()
    if isinstance(policy, MedianStoppingPolicy):
        pruner = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=policy.delay_evaluation,
                                             interval_steps=policy.evaluation_interval)
    elif isinstance(policy, TruncationSelectionPolicy):
        pruner = optuna.pruners.PercentilePruner(policy.truncation_percentage, n_startup_trials=1,
                                                 n_warmup_steps=policy.delay_evaluation,
                                                 interval_steps=policy.evaluation_interval)
    direction = "maximize" if config.primary_metric_goal is PrimaryMetricGoal.MAXIMIZE else "minimize"
    study = optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)
    if isinstance(sampling, GridParameterSampling):
        for point in sampling.grid()[: config.max_total_runs]:
            study.enqueue_trial({name: _index(sampling.parameter_space[name], v) for name, v in point.items()})
    return study


def distributions(space: dict[str, ParameterExpression]) -> dict[str, Any]:
    """The Optuna distribution asked for each hyperparameter."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for name, expr in space.items():
        a = expr.args
        if expr.kind == "choice":
            out[name] = CategoricalDistribution(list(range(len(a))))  # indices: any option type samples the same
        elif expr.kind == "randint":
            out[name] = IntDistribution(0, max(0, int(a[0]) - 1))
        elif expr.kind in ("uniform", "quniform"):
            out[name] = FloatDistribution(min(a[0], a[1]), max(a[0], a[1]))
        elif expr.kind in ("loguniform", "qloguniform"):
            out[name] = FloatDistribution(math.exp(min(a[0], a[1])), math.exp(max(a[0], a[1])), log=True)
        else:  # the normal family: a quantile
            out[name] = FloatDistribution(_EPS, 1 - _EPS)
    return out


def values(space: dict[str, ParameterExpression], params: dict[str, Any]) -> dict[str, Any]:
    """A trial's hyperparameter values from its Optuna params."""
    out = {}
    for name, expr in space.items():
        raw, a = params[name], expr.args
        if expr.kind == "choice":
            out[name] = a[int(raw)]
        elif expr.kind == "randint":
            out[name] = int(raw)
        elif expr.kind in ("uniform", "loguniform"):
            out[name] = float(raw)
        elif expr.kind in ("quniform", "qloguniform"):
            out[name] = _round(float(raw), a[2])
        else:
            x = NormalDist(a[0], a[1]).inv_cdf(float(raw))
            x = math.exp(x) if expr.kind in ("lognormal", "qlognormal") else x
            out[name] = _round(x, a[2]) if expr.kind in ("qnormal", "qlognormal") else x
    return out


def bandit_stops(policy: BanditPolicy, goal: PrimaryMetricGoal, value: float, best: float | None) -> bool:
    """Azure ML's Bandit rule at one evaluation: out of the slack of the best value seen at that point."""
    return best is not None and policy.stops(value, best, goal)


def _index(expr: ParameterExpression, value: Any) -> int:
    return list(expr.args).index(value)


def _round(x: float, q: float) -> float:
    return round(x / q) * q
