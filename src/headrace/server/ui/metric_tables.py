"""Logged tables as rows for the run page: ``log_table``, ``log_row`` series, confusion matrices, accuracy tables."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

TABLE_KINDS = frozenset({"table", "row", "confusion_matrix", "accuracy_table"})
MAX_ROWS = 200  # rows shown per table; the rest stay in the metric (get_metrics)


def metric_table(kind: str, values: Sequence[Any]) -> tuple[list[str], list[list[str]]] | None:
    """(column names, rows of cell texts) of a tabular metric, or None when it is not one (or is malformed)."""
    if kind not in TABLE_KINDS or not values:
        return None
    last = values[-1]
    try:
        if kind == "table" and isinstance(last, Mapping):
            columns = [str(c) for c in last]
            depth = max((len(v) for v in last.values() if isinstance(v, list)), default=0)
            rows = [[_cell(v[i] if isinstance(v, list) and i < len(v) else "") for v in last.values()]
                    for i in range(min(depth, MAX_ROWS))]
            return columns, rows
        if kind == "row":
            rows_in = [v for v in values if isinstance(v, Mapping)]
            columns = list(dict.fromkeys(str(k) for row in rows_in for k in row))
            return columns, [[_cell(row.get(c, "")) for c in columns] for row in rows_in[:MAX_ROWS]]
        data = last.get("data", last) if isinstance(last, Mapping) else {}
        if kind == "confusion_matrix":
            labels = [str(label) for label in data["class_labels"]]
            return ["actual \\ predicted", *labels], [[label, *(_cell(c) for c in row)]
                                                      for label, row in zip(labels, data["matrix"], strict=False)]
        if kind == "accuracy_table":
            return _accuracy(data)
    except (KeyError, TypeError, ValueError):
        return None
    return None


def _accuracy(data: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    labels = data["class_labels"]
    thresholds = data["probability_thresholds"]
    rows = []
    for label, table in zip(labels, data["probability_tables"], strict=False):
        for threshold, counts in zip(thresholds, table, strict=False):
            rows.append([_cell(label), _cell(threshold), *(_cell(c) for c in counts)])
    return ["class", "threshold", "TP", "FP", "TN", "FN"], rows[:MAX_ROWS]


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)
