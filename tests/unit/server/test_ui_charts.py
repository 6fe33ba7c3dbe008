"""The run page's SVG charts: Gantt bars of step timings and line plots of metric series (pure functions)."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from headrace.server.ui.charts import Bar, gantt, line_plot, nice_step, short_duration, thin

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup) -> ET.Element:
    """The chart as XML: it must be well-formed on its own."""
    return ET.fromstring(str(markup))


def test_gantt_draws_one_bar_per_started_step_on_a_shared_axis() -> None:
    bars = [Bar("prep", 0.0, 2.0, "Finished"), Bar("train", 2.0, 10.0, "Failed"), Bar("report", None, None, "NotStarted")]
    svg = parse(gantt(bars, width=720))
    rects = svg.findall(f".//{SVG}rect")
    assert len(rects) == 2 + 1  # two bars, plus the hatch pattern's tile
    groups = {g.get("data-step"): g for g in svg.iter(f"{SVG}g")}
    prep, train = groups["prep"].find(f"{SVG}rect"), groups["train"].find(f"{SVG}rect")
    assert float(train.get("width")) == pytest.approx(4 * float(prep.get("width")))  # 8 s vs 2 s
    assert float(train.get("x")) == pytest.approx(float(prep.get("x")) + float(prep.get("width")))
    assert groups["report"].find(f"{SVG}rect") is None
    text = "".join(svg.itertext())
    assert "not started" in text and "8 s · failed" in text and "2 s · finished" in text
    assert "bar-failed" in groups["train"].get("class")


def test_gantt_marks_reused_steps_with_a_pattern_and_words() -> None:
    svg = parse(gantt([Bar("prep", 0.0, 0.1, "Finished", reused=True)]))
    bar = svg.find(f".//{SVG}g[@data-step='prep']")
    assert "bar-reused" in bar.get("class")
    assert bar.find(f"{SVG}rect").get("fill") == "url(#gantt-reused)"
    assert "reused" in "".join(bar.itertext())


def test_gantt_has_a_text_alternative_and_escapes_names() -> None:
    markup = str(gantt([Bar("<script>alert(1)</script>", 0.0, 1.5, "Running")], title="Timings"))
    assert "<script>" not in markup
    svg = parse(markup)
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == "Timings: <script>alert(1)</script> 1.5 s running"
    assert svg.find(f"{SVG}title").text == "Timings"


def test_gantt_axis_ends_on_a_round_tick() -> None:
    svg = parse(gantt([Bar("a", 0.0, 37.0, "Finished")]))
    ticks = [t.text for t in svg.findall(f"{SVG}text") if t.get("text-anchor") == "middle"]
    assert ticks == ["0 s", "10 s", "20 s", "30 s", "40 s"]


def test_gantt_without_steps_or_times_still_renders() -> None:
    assert "no steps" in parse(gantt([])).get("aria-label")
    svg = parse(gantt([Bar("a", 0.0, 0.0, "Finished")]))  # an instant step still shows a sliver
    assert float(svg.find(f".//{SVG}g[@data-step='a']/{SVG}rect").get("width")) >= 2


def test_line_plot_draws_the_series_in_order() -> None:
    svg = parse(line_plot([0.5, 0.25, 0.125], title="loss"))
    path = svg.find(f"{SVG}path").get("d")
    points = [tuple(map(float, p.split())) for p in re.split(r"[ML]", path) if p.strip()]
    assert len(points) == 3
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    assert xs == sorted(xs) and ys == sorted(ys)  # decreasing values go down the screen (y grows)
    assert len(svg.findall(f"{SVG}circle")) == 3
    assert svg.get("aria-label") == "loss: 3 values from 0.5 to 0.125, min 0.125, max 0.5"


def test_line_plot_needs_two_numbers() -> None:
    assert line_plot([], title="x") is None
    assert line_plot([1.0], title="x") is None
    assert line_plot(["a", True, None, math.nan, 3], title="x") is None  # only 3 is a finite number


def test_line_plot_skips_non_numbers_and_handles_flat_series() -> None:
    svg = parse(line_plot([1, math.inf, "x", 1, 1], title="flat"))
    path = svg.find(f"{SVG}path").get("d")
    ys = {float(p.split()[1]) for p in re.split(r"[ML]", path) if p.strip()}
    assert len(ys) == 1  # a flat line, not a division by zero
    assert "3 values" in svg.get("aria-label")


def test_long_series_are_thinned_but_keep_their_peaks() -> None:
    values = [0.0] * 10_000
    values[5_000] = 99.0
    svg = parse(line_plot(values, title="spiky"))
    path = svg.find(f"{SVG}path").get("d")
    assert path.count("L") < 420
    assert not svg.findall(f"{SVG}circle")  # too many points for dots
    assert "max 99" in svg.get("aria-label") and "10000 values" in svg.get("aria-label")
    kept = thin(list(enumerate(values)), 400)
    assert (5_000, 99.0) in kept and kept[0] == (0, 0.0) and kept[-1] == (9_999, 0.0)
    assert [i for i, _ in kept] == sorted(i for i, _ in kept)


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (0.25, "250 ms"), (12.5, "12.5 s"), (60, "1 min"), (150, "2 min 30 s"), (3600, "1 h"),
    (3900, "1 h 05 min"),
])
def test_short_duration(seconds: float, text: str) -> None:
    assert short_duration(seconds) == text


@pytest.mark.parametrize(("span", "step"), [(37, 10), (10, 2), (0.3, 0.1), (7200, 2000), (0, 1), (math.inf, 1)])
def test_nice_step(span: float, step: float) -> None:
    assert nice_step(span) == pytest.approx(step)
