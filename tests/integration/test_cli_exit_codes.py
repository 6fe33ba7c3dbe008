"""Every ``headrace`` command that fails exits non-zero, in plain and ``--json`` output alike.

The commands are enumerated from the Typer app, so a new command without failing invocations here
fails ``test_every_command_has_failure_cases``. The sweep goes through ``headrace.cli.main.main``
in-process (the console script calls exactly that: same argument parsing, same error handling, same
``sys.exit``); a few cases run as real subprocesses of the installed ``headrace`` script too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import typer

from headrace.cli.main import app, main

# Placeholders, filled by the ``places`` fixture: {home} an empty home, {file} a plain file (not a
# folder), {missing} a path that does not exist, {badflow} a flow.yaml with a syntax error,
# {failflow} a valid flow whose tool raises, {pfdir} a prompt flow DAG that cannot be fully converted.
BAD_OPTION = ["--no-such-option"]
FAILURES: dict[str, list[list[str]]] = {
    "server": [["--orphan-policy", "bogus", "--home", "{home}"], ["--workers", "0", "--home", "{home}"],
               ["--no-auth", "--host", "0.0.0.0", "--home", "{home}"], ["--home", "{file}"]],
    "version": [["extra-argument"]],
    "agent": [["--home", "{file}"], ["--max-runs", "many", "--home", "{home}"]],
    "scheduler": [["--home", "{file}"], ["--db", "nosuchdb://x", "--home", "{home}"]],
    "run list": [["--home", "{file}"], ["--limit", "x", "--home", "{home}"]],
    "run show": [["no-such-run", "--home", "{home}"], []],
    "run logs": [["no-such-run", "make", "--home", "{home}"], ["no-such-run"]],
    "run cancel": [["no-such-run", "--home", "{home}"]],
    "run wait": [["no-such-run", "--home", "{home}"], ["no-such-run", "--timeout", "soon", "--home", "{home}"]],
    "experiment list": [["--home", "{file}"]],
    "token create": [["--role", "king", "--home", "{home}"], ["--home", "{home}"]],
    "token list": [["--home", "{file}"]],
    "token revoke": [["no-such-token", "--home", "{home}"]],
    "pipeline list": [["--home", "{file}"]],
    "pipeline show": [["no-such-pipeline", "--home", "{home}"]],
    "pipeline submit": [["no-such-pipeline", "--experiment", "e", "--home", "{home}"],
                        ["no-such-pipeline", "--experiment", "e", "--param", "novalue", "--home", "{home}"]],
    "pipeline enable": [["no-such-pipeline", "--home", "{home}"]],
    "pipeline disable": [["no-such-pipeline", "--home", "{home}"]],
    "endpoint list": [["--home", "{file}"]],
    "endpoint show": [["no-such-endpoint", "--home", "{home}"]],
    "endpoint submit": [["no-such-endpoint", "--experiment", "e", "--home", "{home}"]],
    "endpoint set-default": [["no-such-endpoint", "1", "--home", "{home}"]],
    "endpoint add": [["no-such-endpoint", "no-such-pipeline", "--home", "{home}"]],
    "endpoint create": [["ep", "no-such-pipeline", "--home", "{home}"]],
    "schedule create": [["s", "--experiment", "e", "--pipeline-id", "no-such-pipeline", "--every", "15m",
                         "--home", "{home}"],
                        ["s", "--experiment", "e", "--pipeline-id", "p", "--every", "often", "--home", "{home}"]],
    "schedule list": [["--home", "{file}"]],
    "schedule show": [["no-such-schedule", "--home", "{home}"]],
    "schedule enable": [["no-such-schedule", "--home", "{home}"]],
    "schedule disable": [["no-such-schedule", "--home", "{home}"]],
    "schedule delete": [["no-such-schedule", "--home", "{home}"]],
    "schedule runs": [["no-such-schedule", "--home", "{home}"]],
    "flow test": [["{failflow}", "--home", "{home}"], ["{badflow}", "--home", "{home}"], ["{missing}"],
                  ["{failflow}", "notapair", "--home", "{home}"]],
    "flow import-promptflow": [["{pfdir}", "--out", "{home}/converted"], ["{missing}"], ["{file}"]],
    "flow serve": [["{badflow}", "--home", "{home}"], ["{missing}"], ["{failflow}", "--port", "http"]],
    "flow publish": [["{badflow}", "--name", "f", "--home", "{home}"], ["{failflow}", "--home", "{home}"]],
    "flow list-published": [["--home", "{file}"]],
    "flow run": [["{failflow}", "--data", "{missing}", "--home", "{home}"], ["{badflow}", "--data", "{file}",
                                                                              "--home", "{home}"]],
    "flow eval": [["{failflow}", "--base-run", "no-such-run", "--home", "{home}"],
                  ["{failflow}", "--base-run", "r", "--init", "{file}", "--home", "{home}"]],
    "flow traces": [["no-such-run", "--home", "{home}"], ["no-such-run", "--line", "first", "--home", "{home}"]],
    "connection create": [["c", "--type", "nosuchtype", "--base-url", "http://x", "--home", "{home}"],
                          ["c", "--type", "openai", "--home", "{home}"]],
    "connection list": [["--home", "{file}"]],
    "connection show": [["no-such-connection", "--home", "{home}"]],
    "connection delete": [["no-such-connection", "--home", "{home}"]],
    "webhook create": [["w", "--event", "run.finish", "--url", "https://example.org/h", "--home", "{home}"],
                       ["w", "--event", "run.failed", "--url", "ftp://example.org/h", "--home", "{home}"],
                       ["w", "--event", "run.failed", "--url", "http://127.0.0.1:9/h", "--home", "{home}"]],
    "webhook list": [["--home", "{file}"]],
    "webhook show": [["no-such-hook", "--home", "{home}"]],
    "webhook deliveries": [["no-such-hook", "--home", "{home}"]],
    "webhook redeliver": [["no-such-hook", "msg_x", "--home", "{home}"]],
    "webhook test": [["no-such-hook", "--home", "{home}"]],
    "webhook enable": [["no-such-hook", "--home", "{home}"]],
    "webhook disable": [["no-such-hook", "--home", "{home}"]],
    "webhook delete": [["no-such-hook", "--home", "{home}"]],
    "trigger create": [["t", "--event", "nope", "--experiment", "e", "--pipeline-id", "p", "--home", "{home}"],
                       ["t", "--event", "http", "--experiment", "e", "--pipeline-id", "missing", "--home", "{home}"]],
    "trigger list": [["--home", "{file}"]],
    "trigger show": [["no-such-trigger", "--home", "{home}"]],
    "trigger ticks": [["no-such-trigger", "--home", "{home}"]],
    "trigger post": [["no-such-trigger", "[]", "--home", "{home}"], ["t", "not json", "--home", "{home}"]],
    "trigger enable": [["no-such-trigger", "--home", "{home}"]],
    "trigger disable": [["no-such-trigger", "--home", "{home}"]],
    "trigger delete": [["no-such-trigger", "--home", "{home}"]],
    "compute list": [["--home", "{file}"]],
    "compute create": [["bad name!", "--home", "{home}"], ["c", "--type", "nosuchtype", "--home", "{home}"]],
    "compute delete": [["no-such-target", "--home", "{home}"]],
    "compute show": [["no-such-target", "--home", "{home}"]],
    "datastore register": [["d", "--type", "local", "--home", "{home}"],
                           ["d", "--type", "s3", "--home", "{home}"],
                           ["d", "--type", "nosuchtype", "--home", "{home}"]],
    "datastore list": [["--home", "{file}"]],
    "datastore show": [["no-such-datastore", "--home", "{home}"]],
    "datastore unregister": [["no-such-datastore", "--home", "{home}"], ["workspaceblobstore", "--home", "{home}"]],
    "datastore ls": [["no-such-datastore", "--home", "{home}"]],
    "datastore set-default": [["no-such-datastore", "--home", "{home}"], ["@web", "--home", "{home}"]],
    "dataset list": [["--home", "{file}"]],
    "environment list": [["--home", "{file}"]],
    "environment show": [["no-such-environment", "--home", "{home}"]],
    "environment build": [["no-such-environment", "--home", "{home}"]],
    "environment register": [["e", "--home", "{home}"], ["e", "--pip-requirements", "{missing}", "--home", "{home}"]],
    "dataset show": [["no-such-dataset", "--home", "{home}"]],
    "model register": [["m", "{missing}", "--home", "{home}"], ["m", "x/y", "--run", "no-such-run", "--home", "{home}"],
                       ["m", "{file}", "--tag", "novalue", "--home", "{home}"]],
    "model list": [["--home", "{file}"]],
    "model show": [["no-such-model", "--home", "{home}"]],
    "model download": [["no-such-model", "--home", "{home}"]],
    "model stage": [["no-such-model", "1", "Production", "--home", "{home}"], ["m", "one", "Staging"]],
    "model alias": [["no-such-model", "champion", "1", "--home", "{home}"],
                    ["no-such-model", "champion", "--delete", "--home", "{home}"]],
    "model delete": [["no-such-model", "1", "--home", "{home}"]],
    "dataset files": [["no-such-dataset", "--home", "{home}"]],
}


def leaf_commands() -> dict[str, typer.main.TyperCommand]:
    """Every runnable command of the app, by its words (``"run list"``), found by walking the groups
    as the command line resolves them (the root loads its groups lazily)."""
    found = {}

    def walk(command, words):
        if hasattr(command, "list_commands"):
            for name in command.list_commands(None):
                walk(command.get_command(None, name), [*words, name])
        else:
            found[" ".join(words)] = command

    walk(typer.main.get_command(app), [])
    return found


def takes_json(command) -> bool:
    return any("--json" in getattr(p, "opts", ()) for p in command.params)


def test_every_command_has_failure_cases():
    missing = sorted(set(leaf_commands()) - set(FAILURES))
    assert not missing, f"add failing invocations to FAILURES for: {missing}"
    stale = sorted(set(FAILURES) - set(leaf_commands()))
    assert not stale, f"FAILURES names commands that no longer exist: {stale}"


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    afile = tmp_path / "afile"
    afile.write_text("not a folder\n")
    badflow = tmp_path / "badflow"
    badflow.mkdir()
    (badflow / "flow.yaml").write_text("nodes: [}\n")
    failflow = write_flow(tmp_path / "failflow", "raise ValueError('the tool broke')")
    pfdir = tmp_path / "pf"
    pfdir.mkdir()
    (pfdir / "flow.dag.yaml").write_text(textwrap.dedent("""\
        inputs: {q: {type: string}}
        outputs: {a: {type: string, reference: "${search.output}"}}
        nodes:
        - name: search
          type: python
          source: {type: package, tool: promptflow.tools.serpapi.SerpAPI.search}
          inputs: {query: "${inputs.q}"}
        """))
    return {"home": str(home), "file": str(afile), "missing": str(tmp_path / "missing"), "badflow": str(badflow),
            "failflow": str(failflow), "pfdir": str(pfdir)}


def write_flow(folder: Path, body: str) -> Path:
    """A one-node flow whose python tool runs ``body`` (with ``q`` its input)."""
    folder.mkdir()
    (folder / "flow.yaml").write_text(textwrap.dedent("""\
        inputs: {q: {type: string, default: hi}}
        outputs: {a: {type: string, reference: "${echo.output}"}}
        nodes:
        - name: echo
          type: python
          source: {type: code, path: echo.py}
          inputs: {q: "${inputs.q}"}
        """))
    (folder / "echo.py").write_text(
        "from headrace.flows import tool\n\n\n@tool\ndef echo(q: str) -> str:\n"
        + textwrap.indent(body, "    ") + "\n")
    return folder


def run_main(monkeypatch, capsys, args: list[str]) -> tuple[int, str, str]:
    """``headrace ARGS`` through the console script's function: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["headrace", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def fill(args: list[str], places: dict[str, str]) -> list[str]:
    return [a.format(**places) for a in args]


@pytest.mark.parametrize("words", sorted(FAILURES))
def test_each_failure_exits_non_zero_in_every_output_mode(words, places, monkeypatch, capsys):
    command = leaf_commands()[words]
    cases = [*FAILURES[words], BAD_OPTION]
    modes = [[], ["--json"]] if takes_json(command) else [[]]
    for case in cases:
        for mode in modes:
            args = [*words.split(), *fill(case, places), *mode]
            code, out, err = run_main(monkeypatch, capsys, args)
            assert code != 0, f"`headrace {' '.join(args)}` exited 0:\n{out}\n{err}"
            assert "Traceback" not in err, f"`headrace {' '.join(args)}` printed a traceback:\n{err}"
            assert err.strip() or (mode and out.strip()), f"`headrace {' '.join(args)}` failed without saying why"
            if mode and out.strip():  # --json: whatever is printed is one JSON document
                json.loads(out)


def headrace_script() -> str:
    script = Path(sys.executable).with_name("headrace")
    return str(script) if script.exists() else shutil.which("headrace") or "headrace"


def run_script(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADRACE_")}
    return subprocess.run([headrace_script(), *args], capture_output=True, text=True, timeout=60, env=env, cwd=cwd)


def test_the_installed_script_exits_non_zero(places, tmp_path):
    """The reported cases, on the real console script."""
    converted = run_script("flow", "import-promptflow", places["pfdir"], "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert converted.returncode == 1 and "NOT converted (1)" in converted.stderr

    failed = run_script("flow", "test", places["failflow"], "--json", "--home", places["home"], cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr
    assert "the tool broke" in json.dumps(json.loads(failed.stdout))

    for args in (["run", "show", "no-such-run", "--json"], ["run", "list", "--limit", "x"],
                 ["run", "list", "--json", "--home", places["file"]]):
        done = run_script(*args, *(["--home", places["home"]] if "--home" not in args else []), cwd=tmp_path)
        assert done.returncode != 0, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr and done.stdout == "", (args, done.stderr)


def test_a_tools_print_does_not_corrupt_flow_test_json(places, tmp_path):
    chatty = write_flow(tmp_path / "chatty", "import os\nprint('hello from the tool')\n"
                        "os.write(1, b'raw bytes on fd 1\\n')\nreturn q.upper()")
    done = run_script("flow", "test", str(chatty), "--json", "--home", places["home"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"] == {"a": "HI"}
    assert "hello from the tool" in done.stderr and "raw bytes on fd 1" in done.stderr


def test_an_unknown_command_exits_2_and_suggests_a_lazy_group(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, ["rn", "list"])
    assert code == 2 and out == ""
    assert "No such command 'rn'. Did you mean 'run'?" in err
