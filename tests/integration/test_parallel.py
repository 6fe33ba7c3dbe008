"""Independent steps run at the same time, never more than ``max_parallel_steps`` of them.

Overlap is proven without timing: with ``--barrier N`` a step only ends once N steps have
started, so a run with N barrier steps can only finish if N of them ran together. The limit is
checked on the step runs' recorded start/end times, which enclose each step's process.
"""

from __future__ import annotations

from headrace import Experiment, Pipeline


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    current = peak = 0
    for _, delta in events:  # at equal times an end (-1) sorts before a start (+1)
        current += delta
        peak = max(peak, current)
    return peak


def _intervals(run) -> list[tuple[float, float]]:
    recs = [run._backend.get_step_run(s.id) for s in run.get_steps()]
    return [(r.started_at.timestamp(), r.ended_at.timestamp()) for r in recs]


def _script_intervals(read_signal, names) -> list[tuple[float, float]]:
    return [(float(read_signal(f"{n}.start")), float(read_signal(f"{n}.end"))) for n in names]


def test_independent_steps_overlap(monkeypatch, make_workspace, ctl_step, read_signal):
    monkeypatch.setenv("HEADRACE_AGENT__MAX_PARALLEL_STEPS", "3")
    ws = make_workspace()
    names = ["p1", "p2", "p3"]
    steps = [ctl_step(n, barrier=3) for n in names]
    run = Experiment(ws, "Parallel").submit(Pipeline(workspace=ws, steps=steps))
    assert run.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"
    starts, ends = zip(*_script_intervals(read_signal, names), strict=True)
    assert max(starts) < min(ends)  # all three were running at one moment


def test_parallelism_is_capped(monkeypatch, make_workspace, ctl_step, read_signal):
    monkeypatch.setenv("HEADRACE_AGENT__MAX_PARALLEL_STEPS", "2")
    ws = make_workspace()
    names = ["c1", "c2", "c3", "c4"]
    steps = [ctl_step(n, barrier=2) for n in names]  # pairs must overlap to get past the barrier
    run = Experiment(ws, "Parallel").submit(Pipeline(workspace=ws, steps=steps))
    assert run.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"
    assert _max_overlap(_intervals(run)) == 2
    assert _max_overlap(_script_intervals(read_signal, names)) == 2


def test_one_at_a_time_never_overlaps(monkeypatch, make_workspace, ctl_step, read_signal):
    monkeypatch.setenv("HEADRACE_AGENT__MAX_PARALLEL_STEPS", "1")
    ws = make_workspace()
    names = ["s1", "s2", "s3"]
    run = Experiment(ws, "Serial").submit(Pipeline(workspace=ws, steps=[ctl_step(n) for n in names]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=60) == "Finished"
    assert _max_overlap(_intervals(run)) == 1
    assert _max_overlap(_script_intervals(read_signal, names)) == 1
    # Steps that are ready together start in definition order.
    starts = [s for s, _ in _script_intervals(read_signal, names)]
    assert starts == sorted(starts)


def test_a_barrier_that_cannot_be_met_shows_the_limit_holds(monkeypatch, make_workspace, ctl_step, read_signal,
                                                           wait_until):
    """With room for two steps, a third barrier step never starts while two are waiting."""
    monkeypatch.setenv("HEADRACE_AGENT__MAX_PARALLEL_STEPS", "2")
    ws = make_workspace()
    steps = [ctl_step(n, barrier=3) for n in ("w1", "w2", "w3")]
    run = Experiment(ws, "Parallel").submit(Pipeline(workspace=ws, steps=steps))
    wait_until(lambda: read_signal("w1.arrived") is not None and read_signal("w2.arrived") is not None,
               message="two steps at the barrier")
    statuses = {s.name: s.status for s in run.get_steps()}
    assert statuses == {"w1": "Running", "w2": "Running", "w3": "NotStarted"}
    assert read_signal("w3.pid") is None
    run.cancel()
    assert run.wait_for_completion(show_output=False) == "Canceled"
