"""Step overhead of headrace on local compute, against the plain-subprocess floor.

Scenarios (no-op steps; each is also run as the floor: one ``subprocess.run([sys.executable,
script])`` per step, same parallelism, same process):

- ``chain``: N steps in a dependency chain; each passes a ``PipelineData`` to the next. The floor
  runs the N scripts one after another.
- ``fanout``: M independent steps, then one fan-in step reading all M outputs. The floor runs the
  M scripts on a ``ThreadPoolExecutor(parallel)``, then the fan-in script.
- ``env``: the chain with every step in one custom environment (a virtual environment built with uv from a
  small local wheel, built once before the timing), against the same plain floor: steps of an environment
  start from a warm interpreter of that environment. The cold build is reported too (not judged).
- ``reuse``: resubmitting the chain unchanged, so every step is reused (no floor: nothing runs).
- ``process``: the chain as a user's script runs it: a new ``python`` process that imports headrace,
  builds the N-step chain, submits it, waits and exits; timed from the process start to its exit,
  against the chain's floor (which is what a user would otherwise run). Judged as ``[resident]``: the
  home is served by ``headrace agent`` (as by a server), so the script hands its run to that agent over
  the home's local socket; ``[fork]``/``[spawn]`` are a lone script that starts an agent of its own
  (SQLAlchemy, the store and the engine in the script: reported, not judged).

Headrace is timed from ``Experiment.submit`` to the return of
``wait_for_completion(show_output=False)``; cold runs use ``regenerate_outputs=True`` so every
step executes. The engine's own view (run created -> run ended, from the run record) is reported
too: the difference is the client's polling latency. Goals: headrace <= 1.3x the floor;
full-reuse resubmit <= 0.5 s; the whole process <= 1.0x the floor.

Usage:
    python benchmarks/step_overhead.py [--parallel N] [--repeat 3] [--chain 50] [--fanout 100] [--json]
        [--only chain|fanout|env|reuse|process] [--launch fork|spawn]

Exit status 0 when every goal is met, 1 when one is missed. Results and analysis: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from _step_pipelines import (
    NOOP_SCRIPT,
    PROCESS_SCRIPT,
    bench_environment,
    build_chain,
    build_fanout,
    cold_build_seconds,
)

RATIO_GOAL = 1.3
PROCESS_RATIO_GOAL = 1.0
REUSE_GOAL_SECONDS = 0.5


# -- floor ----------------------------------------------------------------------------------
def floor_chain(script: Path, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        subprocess.run([sys.executable, str(script)], check=True)
    return time.perf_counter() - t0


def floor_fanout(script: Path, m: int, parallel: int) -> float:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        for proc in pool.map(lambda _: subprocess.run([sys.executable, str(script)]), range(m)):
            proc.check_returncode()
    subprocess.run([sys.executable, str(script)], check=True)  # the fan-in step
    return time.perf_counter() - t0


# -- headrace -------------------------------------------------------------------------------
def run_headrace(ws, pipeline, regenerate: bool, expect_reused: bool | None = None) -> dict[str, float]:
    """Submit and wait; return wall times and the engine's own created->ended span."""
    from headrace import Experiment

    t0 = time.perf_counter()
    run = Experiment(ws, "bench").submit(pipeline, regenerate_outputs=regenerate)
    t_submit = time.perf_counter() - t0
    status = run.wait_for_completion(show_output=False)
    wall = time.perf_counter() - t0
    if status != "Finished":
        raise SystemExit(f"benchmark run {run.id} ended {status}")
    details = run.get_details()
    engine = datetime.fromisoformat(details["endTimeUtc"]) - datetime.fromisoformat(details["startTimeUtc"])
    if expect_reused is not None:
        steps = run.get_steps()
        wrong = [s.name for s in steps if s.is_reused != expect_reused]
        if wrong:
            raise SystemExit(
                f"run {run.id}: steps {wrong[:5]} reused={not expect_reused}, expected {expect_reused}"
            )
    return {"wall": wall, "submit": t_submit, "engine": engine.total_seconds()}


def run_process(script: Path, home: Path, source: Path, n: int) -> dict[str, float]:
    """The chain as a whole ``python`` process of its own; wall time from its start to its exit."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, str(script), str(home), str(source), str(n)], capture_output=True,
                          text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"the chain script failed ({done.returncode}):\n{done.stderr}")
    got = json.loads(done.stdout.strip().splitlines()[-1])
    if got["status"] != "Finished":
        raise SystemExit(f"the chain script's run ended {got['status']}")
    return {"wall": wall, "submit": got["submit"], "engine": got["engine"]}


# -- measuring ------------------------------------------------------------------------------
def summary(values: list[float]) -> dict[str, float]:
    return {"best": min(values), "median": statistics.median(values), "all": values}


def measure(
    label: str,
    repeat: int,
    floor: Callable[[], float] | None,
    headrace: dict[str, Callable[[], dict[str, float]]],
    quiet: bool,
    ratio_goal: float = RATIO_GOAL,
) -> dict[str, dict]:
    """One report per launch mode, each against the floor measured in the same rounds."""
    floors: list[float] = []
    samples: dict[str, dict[str, list[float]]] = {m: {"wall": [], "submit": [], "engine": []} for m in headrace}
    for i in range(repeat):  # interleaved, so drift of the machine hits every side alike
        if floor is not None:
            floors.append(floor())
        for mode, run in headrace.items():
            h = run()
            for key in ("wall", "submit", "engine"):
                samples[mode][key].append(h[key])
            if not quiet:
                f = f"floor {floors[-1]:.3f}s, " if floor is not None else ""
                print(
                    f"  {label} #{i + 1}: {f}headrace[{mode}] {h['wall']:.3f}s "
                    f"(submit {h['submit']:.3f}s, engine {h['engine']:.3f}s)",
                    file=sys.stderr,
                )
    reports = {}
    for mode, got in samples.items():
        out = {"headrace": summary(got["wall"]), "submit": summary(got["submit"]), "engine": summary(got["engine"])}
        if floor is not None:
            out["floor"] = summary(floors)
            out["ratio_best"] = out["headrace"]["best"] / out["floor"]["best"]
            out["ratio_median"] = out["headrace"]["median"] / out["floor"]["median"]
            out["engine_ratio_median"] = out["engine"]["median"] / out["floor"]["median"]
            out["goal"] = f"ratio <= {ratio_goal}"
            out["met"] = out["ratio_median"] <= ratio_goal
        else:
            out["goal"] = f"<= {REUSE_GOAL_SECONDS} s"
            out["met"] = out["headrace"]["median"] <= REUSE_GOAL_SECONDS
        reports[mode] = out
    return reports


def print_table(report: dict) -> None:
    print(
        f"parallel={report['parallel']}  repeat={report['repeat']}  cpus={report['machine']['cpus']}  "
        f"python={report['machine']['python']}  ({report['date']})"
    )
    head = (
        f"{'scenario':<30} {'floor best':>10} {'floor med':>10} {'hr best':>9} {'hr med':>9} "
        f"{'engine med':>10} {'submit med':>10} {'ratio best':>10} {'ratio med':>9} {'eng ratio':>9}  goal"
    )
    print(head)
    print("-" * len(head))
    for name, r in report["scenarios"].items():
        fb = f"{r['floor']['best']:.3f}" if "floor" in r else "-"
        fm = f"{r['floor']['median']:.3f}" if "floor" in r else "-"
        rb = f"{r['ratio_best']:.2f}x" if "floor" in r else "-"
        rm = f"{r['ratio_median']:.2f}x" if "floor" in r else "-"
        em = f"{r['engine_ratio_median']:.2f}x" if "floor" in r else "-"
        ok = ("met" if r["met"] else "MISSED") if r["judged"] else ("(would meet)" if r["met"] else "(info: over)")
        print(
            f"{name:<30} {fb:>10} {fm:>10} {r['headrace']['best']:>9.3f} {r['headrace']['median']:>9.3f} "
            f"{r['engine']['median']:>10.3f} {r['submit']['median']:>10.3f} {rb:>10} {rm:>9} {em:>9}  "
            f"{r['goal']} {ok}"
        )
    print(
        "times in seconds; hr = headrace submit -> wait_for_completion returns; "
        "engine = run created -> ended (run record); ratios are headrace / floor; eng ratio = engine med / floor med;\n"
        "[fork] = steps forked from the warm interpreter (the default), [spawn] = a new python per step "
        "(HEADRACE_AGENT__STEP_LAUNCH=spawn); the goals are judged on the default;\n"
        "process [resident] = the script hands its run to a `headrace agent` serving its home (judged), "
        "[fork]/[spawn] = a lone script starting its own agent"
    )


@contextlib.contextmanager
def resident_agent(home: Path) -> Iterator[Path]:
    """``headrace agent`` serving ``home`` (its scripts hand it their runs over its local socket) while inside."""
    from headrace.local_socket import socket_path

    log = home.with_name(f"{home.name}-agent.log")
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "headrace", "agent", "--home", str(home)],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not socket_path(home.resolve()).exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"headrace agent did not start: {log.read_text()}")
            time.sleep(0.05)
        yield home
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _in_mode(mode: str, run: Callable[[], dict[str, float]]) -> dict[str, float]:
    """``run`` with steps launched as ``mode`` (the child process reads it from the environment)."""
    os.environ["HEADRACE_AGENT__STEP_LAUNCH"] = mode
    return run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=os.cpu_count() or 1,
        help="steps at a time, for headrace and the floor (default: cores)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions of each scenario")
    parser.add_argument("--chain", type=int, default=50, help="length of the chain")
    parser.add_argument("--fanout", type=int, default=100, help="width of the fan-out")
    parser.add_argument(
        "--only",
        choices=["chain", "fanout", "env", "reuse", "process"],
        action="append",
        help="run only these scenarios (repeatable)",
    )
    parser.add_argument(
        "--launch",
        choices=["fork", "spawn"],
        action="append",
        help="step launch modes to time (repeatable; default: fork then spawn). The goals are judged on the first",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    parser.add_argument("--quiet", action="store_true", help="no per-repetition progress on stderr")
    args = parser.parse_args(argv)
    only = set(args.only or ["chain", "fanout", "env", "reuse", "process"])
    modes = args.launch or ["fork", "spawn"]

    with tempfile.TemporaryDirectory(prefix="headrace-bench-") as tmp:
        root = Path(tmp)
        for key in [k for k in os.environ if k.startswith("HEADRACE_")]:
            del os.environ[key]
        os.environ["HEADRACE_AGENT__MAX_PARALLEL_STEPS"] = str(args.parallel)
        source = root / "steps"
        source.mkdir()
        script = source / "noop.py"
        script.write_text(NOOP_SCRIPT, encoding="utf-8")
        chain_script = root / "chain_script.py"
        chain_script.write_text(PROCESS_SCRIPT, encoding="utf-8")

        from headrace import Workspace

        env = bench_environment(root / "wheels")
        homes = {}
        for mode in modes:  # one home per launch mode (settings are read when a workspace opens)
            os.environ["HEADRACE_AGENT__STEP_LAUNCH"] = mode
            ws = Workspace(root / f"home-{mode}")
            homes[mode] = (ws, build_chain(ws, source, args.chain), build_fanout(ws, source, args.fanout),
                           build_chain(ws, source, args.chain, environment=env))
        quiet = args.quiet or args.json
        scenarios: dict[str, dict] = {}
        # Warm-up (untimed): creates the stores, the snapshots, the agents, the reusable chain results.
        floor_chain(script, 3)
        for ws, chain, fanout, env_chain in homes.values():
            run_headrace(ws, chain, regenerate=False)
            run_headrace(ws, fanout, regenerate=True)
            if "env" in only:  # builds the environment once in this home, and starts its warm interpreter
                run_headrace(ws, env_chain, regenerate=True)

        def add(name: str, reports: dict[str, dict], judged: str = modes[0]) -> None:
            for mode, r in reports.items():
                scenarios[f"{name} [{mode}]"] = {**r, "launch": mode, "judged": mode == judged}

        if "chain" in only:
            add(f"chain-{args.chain}", measure(
                "chain", args.repeat, lambda: floor_chain(script, args.chain),
                {m: (lambda h=h: run_headrace(h[0], h[1], regenerate=True, expect_reused=False))
                 for m, h in homes.items()}, quiet))
        if "fanout" in only:
            add(f"fanout-{args.fanout}+fanin", measure(
                "fanout", args.repeat, lambda: floor_fanout(script, args.fanout, args.parallel),
                {m: (lambda h=h: run_headrace(h[0], h[2], regenerate=True, expect_reused=False))
                 for m, h in homes.items()}, quiet))
        if "env" in only:
            add(f"env-chain-{args.chain}", measure(
                "env", args.repeat, lambda: floor_chain(script, args.chain),
                {m: (lambda h=h: run_headrace(h[0], h[3], regenerate=True, expect_reused=False))
                 for m, h in homes.items()}, quiet))
            cold = cold_build_seconds(env, root)
        if "reuse" in only:
            add(f"reuse-chain-{args.chain}", measure(
                "reuse", args.repeat, None,
                {m: (lambda h=h: run_headrace(h[0], h[1], regenerate=False, expect_reused=True))
                 for m, h in homes.items()}, quiet))

        if "process" in only:
            for mode in modes:  # a home of its own, created (and migrated) before the timing
                os.environ["HEADRACE_AGENT__STEP_LAUNCH"] = mode
                run_process(chain_script, root / f"process-{mode}", source, 3)
            os.environ["HEADRACE_AGENT__STEP_LAUNCH"] = modes[0]
            with resident_agent(root / "process-resident") as resident_home:
                run_process(chain_script, resident_home, source, 3)
                runs = {"resident": lambda: run_process(chain_script, resident_home, source, args.chain)}
                runs.update({m: (lambda m=m: _in_mode(m, lambda: run_process(
                    chain_script, root / f"process-{m}", source, args.chain))) for m in modes})
                add(f"process-chain-{args.chain}", measure(
                    "process", args.repeat, lambda: floor_chain(script, args.chain), runs, quiet,
                    PROCESS_RATIO_GOAL), judged="resident")

    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "parallel": args.parallel,
        "repeat": args.repeat,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "scenarios": scenarios,
    }
    if "env" in only:
        report["environment_cold_build_seconds"] = cold
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
        if "environment_cold_build_seconds" in report:
            print(f"environment cold build (uv venv + install of one local wheel): "
                  f"{report['environment_cold_build_seconds']:.2f}s, once per machine and spec")
    return 0 if all(r["met"] for r in scenarios.values() if r["judged"]) else 1


if __name__ == "__main__":
    sys.exit(main())
