"""Step 3: score model.json on test.csv; log accuracy (on the step and the pipeline run) and the
confusion matrix (one ``log_row`` per true class), and write metrics.json."""

from __future__ import annotations

import argparse
import csv
import json
import math
import os

from headrace import Run


def predict(model: dict, x: list[float]) -> str:
    z = [(v - m) / s for v, m, s in zip(x, model["mean"], model["std"], strict=True)]
    scores = [
        sum(wj * zj for wj, zj in zip(w, z, strict=True)) + b
        for w, b in zip(model["weights"], model["bias"], strict=True)
    ]
    return model["classes"][max(range(len(scores)), key=scores.__getitem__)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="folder holding test.csv")
    parser.add_argument("--model", required=True, help="folder holding model.json")
    parser.add_argument("--out", required=True, help="folder that receives metrics.json")
    args = parser.parse_args()

    with open(os.path.join(args.model, "model.json"), encoding="utf-8") as f:
        model = json.load(f)
    with open(os.path.join(args.data, "test.csv"), newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        rows = [row for row in reader if row]

    classes = model["classes"]
    matrix = {actual: dict.fromkeys(classes, 0) for actual in classes}
    correct = 0
    for row in rows:
        actual, guess = row[-1], predict(model, [float(v) for v in row[:-1]])
        matrix.setdefault(actual, dict.fromkeys(classes, 0))[guess] += 1
        correct += actual == guess
    accuracy = correct / len(rows)

    recalls = []
    for c in classes:
        total = sum(matrix[c].values())
        recalls.append(matrix[c][c] / total if total else math.nan)
    balanced = sum(r for r in recalls if not math.isnan(r)) / max(1, sum(not math.isnan(r) for r in recalls))
    print(
        f"accuracy {accuracy:.4f} on {len(rows)} test rows ({correct} correct); balanced accuracy {balanced:.4f}"
    )
    for actual, row in matrix.items():
        print(f"  {actual:>12}: " + "  ".join(f"{p}={n}" for p, n in row.items()))

    run = Run.get_context()
    run.log("accuracy", accuracy)
    run.log("balanced_accuracy", balanced)
    run.log("test_rows", len(rows))
    for actual, row in matrix.items():
        run.log_row("confusion_matrix", actual=actual, **row)
    if run.parent is not None:  # None for an offline run
        run.parent.log("accuracy", accuracy)

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(
            {
                "accuracy": accuracy,
                "balanced_accuracy": balanced,
                "test_rows": len(rows),
                "confusion_matrix": matrix,
                "hyperparameters": model.get("hyperparameters", {}),
            },
            f,
            indent=2,
        )


if __name__ == "__main__":
    main()
