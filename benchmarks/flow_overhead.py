"""Prompt-flow engine overhead and batch throughput.

1. Per-node overhead: a flow of 100 no-op python nodes (a chain, each reading the previous node's
   output; and 100 independent nodes gathered by one), run line after line in one event loop, against
   calling the same 100 functions directly. Goal: at most 0.1 ms per node over the direct calls.
2. Batch throughput: 1,000 lines of a one-llm-node flow through ``arun_batch`` against a loopback
   OpenAI-compatible server (``_llm_server.py``, its own process) answering each call after a fixed
   50 ms, at concurrency 1, 8 and 32. The floor is the same calls made directly with the ``openai``
   client at the same concurrency, in the same run. Goal: throughput linear in the concurrency until
   a limit, i.e. at least 80% of concurrency / latency lines per second, or, once the plain client
   itself falls short of that (the limit is then this machine: client and server share its cores; or
   the server's ``--slots``), at least 80% of what the plain client reaches.

Usage:
    python benchmarks/flow_overhead.py [--lines 1000] [--latency 0.05] [--concurrency 1 8 32] [--json]

Exit status 0 when every goal is met, 1 otherwise. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _server import free_port

NODES = 100
NODE_GOAL_MS = 0.1
LINEAR_GOAL = 0.8  # throughput at least this share of concurrency / latency (below the server's limit)

TOOLS = """\
from headrace.flows import tool


@tool
def step(x: int) -> int:
    return x


@tool
def gather(values: list) -> int:
    return len(values)
"""

QA_TEMPLATE = "# system:\nAnswer briefly.\n# user:\n{{ question }}\n"


def write_chain(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "tools.py").write_text(TOOLS)
    nodes = []
    for i in range(NODES):
        source = "${inputs.x}" if i == 0 else f"${{n{i - 1:03d}.output}}"
        nodes.append({"name": f"n{i:03d}", "type": "python", "source": {"type": "code", "path": "tools.py"},
                      "function": "step", "inputs": {"x": source}})
    spec = {"inputs": {"x": {"type": "int"}}, "outputs": {"y": {"type": "int", "reference": f"${{n{NODES - 1:03d}.output}}"}},
            "nodes": nodes}
    (folder / "flow.yaml").write_text(json.dumps(spec, indent=1))  # JSON is YAML


def write_wide(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "tools.py").write_text(TOOLS)
    nodes = [{"name": f"n{i:03d}", "type": "python", "source": {"type": "code", "path": "tools.py"},
              "function": "step", "inputs": {"x": "${inputs.x}"}} for i in range(NODES - 1)]
    nodes.append({"name": "all", "type": "python", "source": {"type": "code", "path": "tools.py"},
                  "function": "gather", "inputs": {"values": [f"${{n{i:03d}.output}}" for i in range(NODES - 1)]}})
    spec = {"inputs": {"x": {"type": "int"}}, "outputs": {"y": {"type": "int", "reference": "${all.output}"}},
            "nodes": nodes}
    (folder / "flow.yaml").write_text(json.dumps(spec, indent=1))


def write_qa(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "answer.jinja2").write_text(QA_TEMPLATE)
    spec = {"inputs": {"question": {"type": "string"}},
            "outputs": {"answer": {"type": "string", "reference": "${answer.output}"}},
            "nodes": [{"name": "answer", "type": "llm", "source": {"type": "code", "path": "answer.jinja2"},
                       "connection": "llm", "inputs": {"model": "gpt-4o-mini", "question": "${inputs.question}",
                                                       "max_tokens": 32}}]}
    (folder / "flow.yaml").write_text(json.dumps(spec, indent=1))


# -- 1. per-node overhead -------------------------------------------------------------------
def node_overhead(folder: Path, lines: int, repeat: int) -> dict:
    from headrace.flows import load_flow

    flow = load_flow(folder)
    step = _tool_function(folder)
    wide = "wide" in folder.name

    def direct() -> float:
        t0 = time.perf_counter()
        for _ in range(lines):
            if wide:
                values = [step(1) for _ in range(NODES - 1)]
                len(values)
            else:
                x = 1
                for _ in range(NODES):
                    x = step(x)
        return time.perf_counter() - t0

    async def engine() -> float:
        t0 = time.perf_counter()
        for _ in range(lines):
            result = await flow.arun({"x": 1})
            if not result.ok:
                raise SystemExit(f"flow line failed: {result.error}")
        return time.perf_counter() - t0

    async def measure() -> tuple[list[float], list[float]]:
        await engine()  # warm-up
        floors, runs = [], []
        for _ in range(repeat):
            floors.append(direct())
            runs.append(await engine())
        return floors, runs

    floors, runs = asyncio.run(measure())
    per_node_ms = (statistics.median(runs) - statistics.median(floors)) / lines / NODES * 1000
    return {"lines": lines, "nodes": NODES, "direct_s": statistics.median(floors), "flow_s": statistics.median(runs),
            "per_line_ms": statistics.median(runs) / lines * 1000, "overhead_per_node_ms": per_node_ms,
            "goal": f"<= {NODE_GOAL_MS} ms per node", "met": per_node_ms <= NODE_GOAL_MS}


def _tool_function(folder: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_tools_{folder.name}", folder / "tools.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.step


# -- 2. batch throughput --------------------------------------------------------------------
def start_server(latency: float, slots: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("_llm_server.py")), "--port", str(port),
                             "--latency", str(latency), "--slots", str(slots)])
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("the loopback LLM server did not start")
        time.sleep(0.1)


def batch_throughput(folder: Path, url: str, lines: int, concurrency: int) -> dict:
    from headrace.flows import load_flow
    from headrace.flows.batch import arun_batch
    from headrace.flows.connections import Connection
    from headrace.flows.llm_node import OpenAIRunner

    conn = Connection("llm", "openai", url, api_key="bench", context_size=8192)
    flow = load_flow(folder, llm=OpenAIRunner(lambda name: conn, environ={}))
    rows = [{"question": f"question number {i}?"} for i in range(lines)]

    async def run() -> float:
        t0 = time.perf_counter()
        result = await arun_batch(flow, rows, column_mapping={"question": "${data.question}"},
                                  concurrency=concurrency)
        elapsed = time.perf_counter() - t0
        if result.failed:
            raise SystemExit(f"{result.failed} lines failed, e.g. {result.lines[0].error}")
        return elapsed

    return {"seconds": asyncio.run(run())}


def client_floor(url: str, lines: int, concurrency: int) -> dict:
    import openai

    async def run() -> float:
        client = openai.AsyncOpenAI(base_url=url, api_key="bench", max_retries=0)
        queue = iter(range(lines))

        async def worker() -> None:
            for i in queue:
                await client.chat.completions.create(
                    model="gpt-4o-mini", max_tokens=32,
                    messages=[{"role": "system", "content": "Answer briefly."},
                              {"role": "user", "content": f"question number {i}?"}])

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
        await client.close()
        return elapsed

    return {"seconds": asyncio.run(run())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1000, help="lines of the batch")
    parser.add_argument("--node-lines", type=int, default=200, help="lines of the 100-node flows per timing")
    parser.add_argument("--repeat", type=int, default=5, help="timings of the 100-node flows")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the LLM server takes per call")
    parser.add_argument("--slots", type=int, default=64, help="calls the LLM server answers at once")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--batch-repeat", type=int, default=3,
                        help="timings per concurrency above 1 (medians are reported)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    report: dict = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    with tempfile.TemporaryDirectory(prefix="headrace-flow-bench-") as tmp:
        root = Path(tmp)
        write_chain(root / "chain")
        write_wide(root / "wide")
        write_qa(root / "qa")
        report["nodes"] = {name: node_overhead(root / name, args.node_lines, args.repeat) for name in ("chain", "wide")}
        server, url = start_server(args.latency, args.slots)
        try:
            client_floor(url, 50, 4)  # warm-up: imports, connections
            batch_throughput(root / "qa", url, 50, 4)
            batch = {}
            for c in args.concurrency:
                # Alternated and repeated (medians): two processes share the cores, so single runs vary.
                rounds = 1 if c == 1 else args.batch_repeat
                floors, flows = [], []
                for _ in range(rounds):
                    floors.append(client_floor(url, args.lines, c)["seconds"])
                    flows.append(batch_throughput(root / "qa", url, args.lines, c)["seconds"])
                floor = {"seconds": statistics.median(floors)}
                flow = {"seconds": statistics.median(flows)}
                ideal = min(c, args.slots) / args.latency
                reachable = min(ideal, args.lines / floor["seconds"])  # what the plain client gets, at most ideal
                batch[c] = {
                    "flow_lines_per_s": args.lines / flow["seconds"], "floor_calls_per_s": args.lines / floor["seconds"],
                    "ideal_per_s": ideal, "flow_share_of_ideal": args.lines / flow["seconds"] / ideal,
                    "flow_vs_floor": floor["seconds"] / flow["seconds"],
                    "limited_by": "latency (linear)" if reachable >= LINEAR_GOAL * ideal else "machine/server",
                }
                batch[c]["met"] = args.lines / flow["seconds"] >= LINEAR_GOAL * reachable
        finally:
            server.terminate()
            server.wait(timeout=10)
        report["batch"] = {"lines": args.lines, "latency_s": args.latency, "slots": args.slots, "by_concurrency": batch}

    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"cpus={report['machine']['cpus']} python={report['machine']['python']} ({report['date']})")
        print(f"{'flow':<8} {'direct ms/line':>15} {'flow ms/line':>13} {'overhead ms/node':>17}  goal")
        for name, r in report["nodes"].items():
            print(f"{name:<8} {r['direct_s'] / r['lines'] * 1000:>15.3f} {r['per_line_ms']:>13.3f} "
                  f"{r['overhead_per_node_ms']:>17.4f}  {r['goal']} {'met' if r['met'] else 'MISSED'}")
        print(f"\nbatch of {args.lines} lines, server latency {args.latency * 1000:.0f} ms, {args.slots} slots")
        print(f"{'concurrency':>11} {'flow lines/s':>13} {'client calls/s':>15} {'ideal/s':>8} {'flow/ideal':>11} "
              f"{'flow/client':>12}  {'limit':<17} goal (>= 80% of the reachable)")
        for c, r in batch.items():
            print(f"{c:>11} {r['flow_lines_per_s']:>13.1f} {r['floor_calls_per_s']:>15.1f} {r['ideal_per_s']:>8.0f} "
                  f"{r['flow_share_of_ideal']:>10.0%} {r['flow_vs_floor']:>11.0%}  {r['limited_by']:<17} "
                  f"{'met' if r['met'] else 'MISSED'}")
    ok = all(r["met"] for r in report["nodes"].values()) and all(r["met"] for r in batch.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
