"""``pf``: the prompt flow command lines people have in their READMEs and CI scripts, over headrace.

Served: ``pf flow test``, ``pf run create|show|show-details|show-metrics|list``, ``pf connection
create|list|show``, with prompt flow's flags. Everything runs in the local headrace workspace
(``Workspace.from_config()``, ``HEADRACE_HOME``). Anything else exits 2 naming the headrace command to use.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["main"]

# prompt flow's connection types -> headrace's
_TYPES = {"azure_open_ai": "azure_openai", "azureopenai": "azure_openai", "open_ai": "openai", "openai": "openai",
          "custom": "custom"}


def _pairs(items: list[str] | None, flag: str) -> dict[str, str]:
    found = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"pf: {flag} takes KEY=VALUE pairs, got {item!r}")
        found[key] = value
    return found


def _init(path: str | None) -> dict[str, Any] | None:
    return json.loads(Path(path).read_text(encoding="utf-8")) if path else None


def _print(value: Any) -> None:
    print(json.dumps(value, indent=4, ensure_ascii=False, default=str))


def _flow_test(args: argparse.Namespace) -> int:
    from promptflow._client import PFClient

    outputs = PFClient().test(flow=args.flow, inputs=_pairs(args.inputs, "--inputs"), init=_init(args.init),
                              variant=args.variant)
    _print(outputs)
    return 0


def _run_create(args: argparse.Namespace) -> int:
    from promptflow._client import PFClient
    from promptflow._run import Run, load_run

    spec = load_run(args.file) if args.file else Run()  # a run.yml's paths are relative to the file
    flow = args.flow or spec.flow
    if not flow:
        raise SystemExit("pf run create: give --flow DIR (or --file run.yaml with flow:)")
    mapping = {**spec.column_mapping, **_pairs(args.column_mapping, "--column-mapping")}
    run = PFClient().run(flow=flow, data=args.data or spec.data, run=args.run or spec.run,
                         column_mapping=mapping, name=args.name or spec.name,
                         variant=args.variant or spec.variant, init=_init(args.init) or spec.init,
                         connections=spec.connections, environment_variables=spec.environment_variables,
                         stream=args.stream)
    _print(_run_view(run))
    return 0 if run.get_status() == "Finished" else 1


def _run_view(run: Any) -> dict[str, Any]:
    from headrace.sdk.flow_runs import flow_summary

    summary = flow_summary(run)
    return {"name": run.id, "status": "Completed" if summary["status"] == "Finished" else summary["status"],
            "experiment": summary["experiment"], "variant": summary["variant"], "lines": summary["lines"],
            "lines_completed": summary["lines_completed"], "lines_failed": summary["lines_failed"],
            "output_path": (summary["outputs"] or {}).get("local_path"), "error": summary["error"]}


def _run_show(args: argparse.Namespace) -> int:
    from promptflow._client import PFClient

    pf = PFClient()
    run = pf._run(args.name)
    if args.command == "show":
        _print(_run_view(run))
    elif args.command == "show-metrics":
        _print(pf.get_metrics(run))
    else:
        details = pf.get_details(run)
        rows = details.to_dict("records") if hasattr(details, "to_dict") else details
        _print(rows[: args.max_results] if args.max_results else rows)
    return 0


def _run_list(args: argparse.Namespace) -> int:
    from headrace.flows.run_tags import FLOW_TAG
    from promptflow._client import PFClient

    ws = PFClient().workspace
    rows = []
    for name, experiment in ws.experiments.items():
        for run in experiment.get_runs():
            if FLOW_TAG in run.tags:
                rows.append({"name": run.id, "experiment": name, "flow": run.tags[FLOW_TAG],
                             "status": run.get_status()})
    _print(rows[: args.max_results])
    return 0


def _connection(args: argparse.Namespace) -> int:
    from headrace.config import load_settings
    from headrace.services import connections
    from headrace.wiring import build_services

    svc = build_services(load_settings())
    if args.command == "list":
        _print([v.as_dict() for v in connections.list_connections(svc)])
        return 0
    if args.command == "show":
        _print(connections.get_connection(svc, args.name).as_dict())
        return 0
    import yaml

    spec = yaml.safe_load(Path(args.file).read_text(encoding="utf-8")) if args.file else {}
    spec = {**(spec or {}), **_pairs(args.set, "--set")}
    name = args.name or spec.get("name")
    kind = _TYPES.get(str(spec.get("type", "")).lower())
    if not name or kind is None:
        raise SystemExit(f"pf connection create: needs a name and a type of {', '.join(sorted(set(_TYPES)))} "
                         f"(got name {name!r}, type {spec.get('type')!r})")
    if kind == "custom":
        view = connections.create_connection(svc, name, type="custom", base_url="",
                                             extra={"configs": dict(spec.get("configs") or {})},
                                             secrets=dict(spec.get("secrets") or {}), replace=True)
    else:
        default = "https://api.openai.com/v1" if kind == "openai" else ""
        view = connections.create_connection(svc, name, type=kind, base_url=spec.get("api_base") or
                                             spec.get("base_url") or default, api_key=spec.get("api_key"),
                                             api_version=spec.get("api_version"), replace=True)
    _print(view.as_dict())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pf", description="prompt flow's CLI, served by headrace.")
    groups = parser.add_subparsers(dest="group", required=True)
    flow = groups.add_parser("flow").add_subparsers(dest="command", required=True)
    test = flow.add_parser("test", help="Run a flow once.")
    test.add_argument("--flow", required=True)
    test.add_argument("--inputs", nargs="+", help="KEY=VALUE inputs")
    test.add_argument("--variant")
    test.add_argument("--init", help="a JSON file of a flex flow class's __init__ arguments")
    test.set_defaults(handler=_flow_test)
    run = groups.add_parser("run").add_subparsers(dest="command", required=True)
    create = run.add_parser("create", help="A batch run (or an evaluation with --run).")
    for flag in ("--flow", "--data", "--run", "--name", "--variant", "--init", "--file"):
        create.add_argument(flag)
    create.add_argument("--column-mapping", nargs="+", help="KEY=VALUE pairs")
    create.add_argument("--stream", action="store_true")
    create.set_defaults(handler=_run_create)
    for command in ("show", "show-details", "show-metrics"):
        shown = run.add_parser(command)
        shown.add_argument("--name", "-n", required=True)
        shown.add_argument("--max-results", "-r", type=int, default=None)
        shown.set_defaults(handler=_run_show)
    listed = run.add_parser("list")
    listed.add_argument("--max-results", "-r", type=int, default=50)
    listed.set_defaults(handler=_run_list)
    conn = groups.add_parser("connection").add_subparsers(dest="command", required=True)
    made = conn.add_parser("create")
    made.add_argument("--file", "-f")
    made.add_argument("--name", "-n")
    made.add_argument("--set", nargs="+", help="KEY=VALUE overrides")
    made.set_defaults(handler=_connection)
    conn.add_parser("list").set_defaults(handler=_connection)
    show = conn.add_parser("show")
    show.add_argument("--name", "-n", required=True)
    show.set_defaults(handler=_connection)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``pf`` with ``argv``; returns the exit code (1: the flow or run failed, 2: bad usage)."""
    args = _parser().parse_args(argv)
    from headrace.errors import HeadraceError

    try:
        return args.handler(args)
    except (HeadraceError, FileNotFoundError, ValueError) as exc:
        print(f"pf: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
