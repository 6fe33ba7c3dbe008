"""How steps start: forked from the warm interpreter by default, a new process when that would differ."""

from __future__ import annotations

from headrace import Experiment, Pipeline, PythonScriptStep

FORKED = "process forked from the warm step interpreter"

# A step that starts worker processes the portable way (spawn: they import __main__ from its file)
# and pickles a class defined in __main__: what breaks first when __main__ is not set up right.
WORKERS = """
import multiprocessing as mp
import pickle


class Point:
    def __init__(self, x):
        self.x = x


def square(p):
    return p.x * p.x


if __name__ == "__main__":
    with mp.get_context("spawn").Pool(2) as pool:
        print(pool.map(square, [Point(2), Point(3)]))
    print(pickle.loads(pickle.dumps(Point(7))).x)
"""


def _run(workspace, step):
    run = Experiment(workspace, "Launch").submit(Pipeline(workspace=workspace, steps=[step]))
    assert run.wait_for_completion(show_output=False, timeout_seconds=120) == "Finished"
    return run.find_step_run(step.name)[0]


def test_a_forked_step_can_start_processes_and_pickle_its_own_classes(workspace, write_scripts):
    folder = write_scripts({"workers.py": WORKERS})
    step = _run(workspace, PythonScriptStep(name="workers", script_name="workers.py", source_directory=folder))
    assert FORKED in step.get_execution_log()
    assert step.get_stdout_log() == "[4, 9]\n7\n"


def test_a_step_setting_pythonpath_gets_a_new_interpreter_that_honours_it(workspace, write_scripts, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "helper_mod.py").write_text("VALUE = 'from PYTHONPATH'\n")
    folder = write_scripts({"uses.py": "import helper_mod\nprint(helper_mod.VALUE)\n"})
    step = _run(workspace, PythonScriptStep(name="uses", script_name="uses.py", source_directory=folder,
                                            environment_variables={"PYTHONPATH": str(lib)}))
    log = step.get_execution_log()
    assert FORKED not in log and "PYTHON*/LD_* variables differ" in log
    assert step.get_stdout_log() == "from PYTHONPATH\n"


def test_step_launch_spawn_always_starts_a_new_interpreter(make_workspace, write_scripts, monkeypatch):
    monkeypatch.setenv("HEADRACE_AGENT__STEP_LAUNCH", "spawn")
    workspace = make_workspace()
    folder = write_scripts({"hello.py": "import sys\nprint('hello', sys.argv[1:])\n"})
    step = _run(workspace, PythonScriptStep(name="hello", script_name="hello.py", source_directory=folder,
                                            arguments=["--n", 3]))
    assert FORKED not in step.get_execution_log()
    assert step.get_stdout_log() == "hello ['--n', '3']\n"


def test_a_step_is_not_handed_the_workspace_but_keeps_its_own_settings(workspace, write_scripts, monkeypatch):
    # The agent's own HEADRACE_* variables (its home, database, secret key, token) stay the agent's.
    monkeypatch.setenv("HEADRACE_DB_URL", "sqlite:////agent/only.db")
    monkeypatch.setenv("HEADRACE_SECRET_KEY", "agent-only-key")
    folder = write_scripts({"home.py": "import os\nprint(sorted(k for k in os.environ if k.startswith('HEADRACE_')"
                                       " and 'CONTEXT' not in k and 'RUN' not in k and 'STEP' not in k"
                                       " and 'EXPERIMENT' not in k))\n"})
    step = _run(workspace, PythonScriptStep(name="home", script_name="home.py", source_directory=folder))
    assert step.get_stdout_log() == "[]\n"
    own = _run(workspace, PythonScriptStep(name="own", script_name="home.py", source_directory=folder,
                                           environment_variables={"HEADRACE_HOME": "/elsewhere"}))
    assert own.get_stdout_log() == "['HEADRACE_HOME']\n"  # a step's own setting is its own
