"""Where synchronous tools run: worker threads until they prove quick, then the event loop."""

from __future__ import annotations

import threading

from headrace.flows import inline, load_flow
from headrace.flows.tools import tool

THREADS = """
import threading
from headrace.flows import tool


@tool
def adaptive() -> int:
    return threading.get_ident()


@tool(thread=True)
def always_thread() -> int:
    return threading.get_ident()


@tool(thread=False)
def never_thread() -> int:
    return threading.get_ident()
"""

FLOW = """
outputs:
  adaptive: {type: int, reference: "${a.output}"}
  thread: {type: int, reference: "${t.output}"}
  loop: {type: int, reference: "${n.output}"}
nodes:
- {name: a, type: python, source: tools.py, function: adaptive}
- {name: t, type: python, source: tools.py, function: always_thread}
- {name: n, type: python, source: tools.py, function: never_thread}
"""


def test_a_quick_tool_moves_to_the_event_loop_after_its_probation(write_flow) -> None:
    flow = load_flow(write_flow("threads", {"flow.yaml": FLOW, "tools.py": THREADS}))
    main = threading.get_ident()  # Flow.run's event loop runs in this thread
    first = [flow.run().outputs for _ in range(inline.PROBATION)]
    assert all(o["adaptive"] != main for o in first)  # threads while on probation (each call well under 0.5 ms)
    later = flow.run().outputs
    assert later["adaptive"] == main
    assert all(o["thread"] != main for o in [*first, later])  # thread=True: always a worker thread
    assert all(o["loop"] == main for o in [*first, later])  # thread=False: never


def test_the_policy_promotes_quick_tools_and_demotes_a_slow_direct_call() -> None:
    @tool
    def f() -> None:
        pass

    for _ in range(inline.PROBATION - 1):
        inline.observe(f, inline.QUICK_SECONDS / 10, inline=False)
    assert not inline.runs_inline(f)
    inline.observe(f, inline.QUICK_SECONDS * 4, inline=False)  # one slow threaded run restarts the probation
    for _ in range(inline.PROBATION - 1):
        inline.observe(f, inline.QUICK_SECONDS / 10, inline=False)
    assert not inline.runs_inline(f)
    inline.observe(f, inline.QUICK_SECONDS / 10, inline=False)
    assert inline.runs_inline(f)
    inline.observe(f, inline.SLOW_SECONDS * 2, inline=True)  # it stalled the loop once: threads for good
    assert not inline.runs_inline(f)
    for _ in range(10):
        inline.observe(f, inline.QUICK_SECONDS / 10, inline=False)
    assert not inline.runs_inline(f)
