"""HyperDrive sweep definitions: parameter expressions, samplings, early termination policies, ``HyperDriveConfig``.

Pure definitions with Azure ML's names and signatures; ``sdk/runs/sweep.py`` turns them into an Optuna study
(samplers and pruners) and runs the trials as child script runs.
"""

from __future__ import annotations

import math
from enum import Enum
from typing import Any

from headrace.core.script_run import ScriptRunConfig
from headrace.errors import DefinitionError


class PrimaryMetricGoal(Enum):
    """Whether the sweep looks for the largest or the smallest primary metric."""

    MAXIMIZE = "MAXIMIZE"
    MINIMIZE = "MINIMIZE"


class ParameterExpression:
    """One hyperparameter's distribution (Azure ML: ``["choice", [[...]]]``-like expressions)."""

    def __init__(self, kind: str, args: tuple[Any, ...]):
        self.kind = kind
        self.args = args

    def to_json(self) -> list[Any]:
        return [self.kind, list(self.args)]

    def __repr__(self) -> str:
        return f"{self.kind}({', '.join(map(repr, self.args))})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParameterExpression) and (self.kind, self.args) == (other.kind, other.args)

    def __hash__(self) -> int:
        return hash((self.kind, repr(self.args)))


def choice(*options: Any) -> ParameterExpression:
    """One of ``options`` (``choice(1, 2, 3)`` or ``choice([1, 2, 3])`` or ``choice(range(5))``)."""
    if len(options) == 1 and isinstance(options[0], list | tuple | range):
        options = tuple(options[0])
    if not options:
        raise DefinitionError(["choice() needs at least one option"])
    return ParameterExpression("choice", tuple(options))


def randint(upper: int) -> ParameterExpression:
    """An integer in ``[0, upper)``."""
    return ParameterExpression("randint", (int(upper),))


def uniform(min_value: float, max_value: float) -> ParameterExpression:
    return ParameterExpression("uniform", (float(min_value), float(max_value)))


def quniform(min_value: float, max_value: float, q: float) -> ParameterExpression:
    """``round(uniform(min_value, max_value) / q) * q``."""
    return ParameterExpression("quniform", (float(min_value), float(max_value), float(q)))


def loguniform(min_value: float, max_value: float) -> ParameterExpression:
    """``exp(uniform(min_value, max_value))``: log-uniform between ``e**min_value`` and ``e**max_value``."""
    return ParameterExpression("loguniform", (float(min_value), float(max_value)))


def qloguniform(min_value: float, max_value: float, q: float) -> ParameterExpression:
    return ParameterExpression("qloguniform", (float(min_value), float(max_value), float(q)))


def normal(mu: float, sigma: float) -> ParameterExpression:
    return ParameterExpression("normal", (float(mu), float(sigma)))


def qnormal(mu: float, sigma: float, q: float) -> ParameterExpression:
    return ParameterExpression("qnormal", (float(mu), float(sigma), float(q)))


def lognormal(mu: float, sigma: float) -> ParameterExpression:
    """``exp(normal(mu, sigma))``."""
    return ParameterExpression("lognormal", (float(mu), float(sigma)))


def qlognormal(mu: float, sigma: float, q: float) -> ParameterExpression:
    return ParameterExpression("qlognormal", (float(mu), float(sigma), float(q)))


class HyperParameterSampling:
    """How trials' hyperparameters are picked from ``parameter_space`` (name -> expression)."""

    SAMPLING_NAME = "base"
    ALLOWED = frozenset({"choice", "randint", "uniform", "quniform", "loguniform", "qloguniform", "normal",
                         "qnormal", "lognormal", "qlognormal"})

    def __init__(self, parameter_space: dict[str, ParameterExpression], properties: dict[str, Any] | None = None):
        problems = [f"hyperparameter {name!r}: {expr!r} is not a parameter expression (use choice, uniform, ...)"
                    for name, expr in parameter_space.items() if not isinstance(expr, ParameterExpression)]
        problems += [f"hyperparameter {name!r}: {self.SAMPLING_NAME} sampling does not take {expr.kind}"
                     for name, expr in parameter_space.items()
                     if isinstance(expr, ParameterExpression) and expr.kind not in self.ALLOWED]
        if not parameter_space:
            problems.append(f"{type(self).__name__} needs at least one hyperparameter")
        if problems:
            raise DefinitionError(problems)
        self._parameter_space = dict(parameter_space)
        self._properties = dict(properties or {})

    @property
    def parameter_space(self) -> dict[str, ParameterExpression]:
        return dict(self._parameter_space)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.SAMPLING_NAME, "parameter_space": {k: v.to_json() for k, v in self._parameter_space.items()},
                "properties": self._properties}


class RandomParameterSampling(HyperParameterSampling):
    """Random sampling (Optuna's ``RandomSampler``)."""

    SAMPLING_NAME = "RANDOM"


class GridParameterSampling(HyperParameterSampling):
    """Every combination of ``choice`` values, in order."""

    SAMPLING_NAME = "GRID"
    ALLOWED = frozenset({"choice"})

    def grid(self) -> list[dict[str, Any]]:
        """Every combination, the first hyperparameter varying slowest."""
        combos: list[dict[str, Any]] = [{}]
        for name, expr in self._parameter_space.items():
            combos = [{**c, name: value} for c in combos for value in expr.args]
        return combos


class BayesianParameterSampling(HyperParameterSampling):
    """Model-based sampling (Optuna's TPE sampler; Azure ML uses a Gaussian process): ``choice``, ``uniform``
    and ``quniform`` only, as in Azure ML; no early termination policy."""

    SAMPLING_NAME = "BayesianOptimization"
    ALLOWED = frozenset({"choice", "uniform", "quniform"})


class EarlyTerminationPolicy:
    """Stops trials whose primary metric falls behind, checked every ``evaluation_interval`` logged values
    after the first ``delay_evaluation`` ones."""

    POLICY_NAME = "Default"

    def __init__(self, evaluation_interval: int = 1, delay_evaluation: int = 0):
        if evaluation_interval < 1 or delay_evaluation < 0:
            raise DefinitionError([f"{type(self).__name__}: evaluation_interval must be >= 1 and "
                                   "delay_evaluation >= 0"])
        self.evaluation_interval = int(evaluation_interval)
        self.delay_evaluation = int(delay_evaluation)

    def due(self, step: int) -> bool:
        """Whether the policy looks at the value logged at index ``step`` (0-based)."""
        n = step + 1
        return n > self.delay_evaluation and (n - self.delay_evaluation) % self.evaluation_interval == 0


class NoTerminationPolicy(EarlyTerminationPolicy):
    """Let every trial run to its end."""

    POLICY_NAME = "NoTerminationPolicy"

    def due(self, step: int) -> bool:
        return False


class BanditPolicy(EarlyTerminationPolicy):
    """Stop a trial whose metric is worse than the best value any trial logged so far by more than the slack:
    ``slack_factor`` (a ratio) or ``slack_amount`` (an absolute difference); give one of them."""

    POLICY_NAME = "Bandit"

    def __init__(self, evaluation_interval: int = 1, slack_factor: float | None = None,
                 slack_amount: float | None = None, delay_evaluation: int = 0):
        super().__init__(evaluation_interval, delay_evaluation)
        if (slack_factor is None) == (slack_amount is None):
            raise DefinitionError(["BanditPolicy: give exactly one of slack_factor and slack_amount"])
        self.slack_factor = slack_factor
        self.slack_amount = slack_amount

    def stops(self, value: float, best: float, goal: PrimaryMetricGoal) -> bool:
        """Whether a trial at ``value`` is out of the slack of the ``best`` one."""
        if goal is PrimaryMetricGoal.MAXIMIZE:
            bound = best / (1 + self.slack_factor) if self.slack_factor is not None else best - self.slack_amount
            return value < bound
        bound = best * (1 + self.slack_factor) if self.slack_factor is not None else best + self.slack_amount
        return value > bound


class MedianStoppingPolicy(EarlyTerminationPolicy):
    """Stop a trial whose best value so far is worse than the median of the other trials' running averages
    (Optuna's ``MedianPruner``)."""

    POLICY_NAME = "MedianStopping"


class TruncationSelectionPolicy(EarlyTerminationPolicy):
    """Stop the worst ``truncation_percentage`` percent of trials at each evaluation (Optuna's ``PercentilePruner``)."""

    POLICY_NAME = "TruncationSelection"

    def __init__(self, truncation_percentage: int, evaluation_interval: int = 1, delay_evaluation: int = 0,
                 exclude_finished_jobs: bool = False):
        super().__init__(evaluation_interval, delay_evaluation)
        if not 1 <= truncation_percentage <= 99:
            raise DefinitionError(["TruncationSelectionPolicy: truncation_percentage must be between 1 and 99"])
        self.truncation_percentage = int(truncation_percentage)
        self.exclude_finished_jobs = exclude_finished_jobs


class HyperDriveConfig:
    """A hyperparameter sweep: trials of ``run_config`` (a ``ScriptRunConfig``) with sampled hyperparameters
    appended to its arguments (``--lr 0.05``), run as child script runs, at most ``max_concurrent_runs`` at once.

    Example:
        >>> cfg = HyperDriveConfig(run_config=ScriptRunConfig("src", "train.py"),
        ...                        hyperparameter_sampling=GridParameterSampling({"--n": choice(1, 2)}),
        ...                        primary_metric_name="accuracy", primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
        ...                        max_total_runs=2, max_concurrent_runs=2)
        >>> cfg.max_total_runs
        2
    """

    def __init__(self, hyperparameter_sampling: HyperParameterSampling, primary_metric_name: str,
                 primary_metric_goal: PrimaryMetricGoal, max_total_runs: int | None = None,
                 max_concurrent_runs: int | None = None, max_duration_minutes: int = 10080,
                 policy: EarlyTerminationPolicy | None = None, estimator: Any = None, run_config: Any = None,
                 resume_from: Any = None, resume_child_runs: Any = None, pipeline: Any = None, debug_flag: Any = None,
                 custom_run_id: Any = None):
        problems = []
        if not isinstance(run_config, ScriptRunConfig):
            problems.append("HyperDriveConfig: run_config must be a ScriptRunConfig (estimators and pipelines are "
                            "not supported)")
        if not isinstance(hyperparameter_sampling, HyperParameterSampling):
            problems.append("HyperDriveConfig: hyperparameter_sampling must be a Random, Grid or Bayesian sampling")
        if not isinstance(primary_metric_goal, PrimaryMetricGoal):
            problems.append("HyperDriveConfig: primary_metric_goal must be PrimaryMetricGoal.MAXIMIZE or MINIMIZE")
        if isinstance(hyperparameter_sampling, BayesianParameterSampling) and policy is not None \
                and not isinstance(policy, NoTerminationPolicy):
            problems.append("HyperDriveConfig: Bayesian sampling takes no early termination policy (as in Azure ML)")
        if max_total_runs is None and not isinstance(hyperparameter_sampling, GridParameterSampling):
            problems.append("HyperDriveConfig: max_total_runs is required unless the sampling is a grid")
        if problems:
            raise DefinitionError(problems)
        if max_total_runs is None:
            max_total_runs = len(hyperparameter_sampling.grid())  # type: ignore[attr-defined]
        self.run_config = run_config
        self._hyperparameter_sampling = hyperparameter_sampling
        self._primary_metric_name = primary_metric_name
        self._primary_metric_goal = primary_metric_goal
        self.max_total_runs = int(max_total_runs)
        self.max_concurrent_runs = int(max_concurrent_runs or self.max_total_runs)
        self.max_duration_minutes = max_duration_minutes
        self._policy = policy or NoTerminationPolicy()

    @property
    def hyperparameter_sampling(self) -> HyperParameterSampling:
        return self._hyperparameter_sampling

    @property
    def primary_metric_name(self) -> str:
        return self._primary_metric_name

    @property
    def primary_metric_goal(self) -> PrimaryMetricGoal:
        return self._primary_metric_goal

    @property
    def policy(self) -> EarlyTerminationPolicy:
        return self._policy

    @property
    def source_directory(self) -> str:
        return self.run_config.source_directory

    def describe(self) -> dict[str, Any]:
        """The sweep's settings as JSON (kept in the sweep run's properties)."""
        policy = {k: v for k, v in vars(self._policy).items() if not k.startswith("_")}
        return {"sampling": self._hyperparameter_sampling.to_json(), "primary_metric_name": self._primary_metric_name,
                "primary_metric_goal": self._primary_metric_goal.value, "max_total_runs": self.max_total_runs,
                "max_concurrent_runs": self.max_concurrent_runs, "max_duration_minutes": self.max_duration_minutes,
                "policy": {"name": self._policy.POLICY_NAME, **policy}}


class TrainingOutput:
    """What a ``HyperDriveStep`` writes into a ``PipelineData`` output (Azure ML's ``TrainingOutput``).

    Args:
        type: "Metrics" (every trial's metrics as JSON) or "Model" (the best trial's files).
        iteration: accepted for Azure ML code (AutoML's); not used.
        metric: accepted for Azure ML code (AutoML's); not used.
        model_file: for "Model", the best trial's file to copy, relative to its working directory
            (``outputs/model.pkl``); None copies its whole ``outputs`` folder.

    Example:
        >>> model = PipelineData("model", training_output=TrainingOutput("Model", model_file="outputs/m.pkl"))
    """

    def __init__(self, type: str, iteration: int | None = None, metric: str | None = None,  # noqa: A002
                 model_file: str | None = None):
        if type not in ("Metrics", "Model"):
            raise DefinitionError([f"TrainingOutput type {type!r} is not supported; use 'Metrics' or 'Model'"])
        self.type = type
        self.iteration = iteration
        self.metric = metric
        self.model_file = model_file

    def __repr__(self) -> str:
        return f"TrainingOutput(type={self.type!r}, model_file={self.model_file!r})"


def is_better(a: float, b: float, goal: PrimaryMetricGoal) -> bool:
    """Whether ``a`` beats ``b`` for ``goal`` (NaN never does)."""
    if math.isnan(a):
        return False
    return a > b if goal is PrimaryMetricGoal.MAXIMIZE else a < b
