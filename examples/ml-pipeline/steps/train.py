"""Step 2: train a multinomial logistic regression in pure Python and write model.json.

Features are standardised with the training split's mean and standard deviation (kept in the
model so evaluation applies the same scaling); weights are fitted by full-batch gradient
descent on the mean cross-entropy plus an L2 penalty. The loss is logged once per epoch, so
the step run's ``get_metrics()["loss"]`` is the training curve.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os

from headrace import Run


def load_split(path: str) -> tuple[list[str], list[list[float]], list[str]]:
    """Feature names, feature rows and labels of a CSV whose last column is the label."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        xs, ys = [], []
        for row in reader:
            if row:
                xs.append([float(v) for v in row[:-1]])
                ys.append(row[-1])
    return header[:-1], xs, ys


def standardise(xs: list[list[float]]) -> tuple[list[float], list[float]]:
    n, d = len(xs), len(xs[0])
    mean = [sum(x[j] for x in xs) / n for j in range(d)]
    std = [math.sqrt(sum((x[j] - mean[j]) ** 2 for x in xs) / n) or 1.0 for j in range(d)]
    return mean, std


def softmax(z: list[float]) -> list[float]:
    top = max(z)
    e = [math.exp(v - top) for v in z]
    total = sum(e)
    return [v / total for v in e]


def fit(xs, ys, classes, epochs, learning_rate, l2, run):
    """Gradient descent on the softmax cross-entropy; returns (weights, bias, final loss)."""
    k, d, n = len(classes), len(xs[0]), len(xs)
    index = {c: i for i, c in enumerate(classes)}
    w = [[0.0] * d for _ in range(k)]
    b = [0.0] * k
    loss = math.inf
    for epoch in range(epochs):
        gw = [[0.0] * d for _ in range(k)]
        gb = [0.0] * k
        loss = 0.0
        for x, y in zip(xs, ys, strict=True):
            p = softmax([sum(wc[j] * x[j] for j in range(d)) + bc for wc, bc in zip(w, b, strict=True)])
            t = index[y]
            loss -= math.log(max(p[t], 1e-12))
            for c in range(k):
                err = p[c] - (1.0 if c == t else 0.0)
                gb[c] += err
                for j in range(d):
                    gw[c][j] += err * x[j]
        loss = loss / n + 0.5 * l2 * sum(v * v for wc in w for v in wc)
        for c in range(k):
            b[c] -= learning_rate * gb[c] / n
            for j in range(d):
                w[c][j] -= learning_rate * (gw[c][j] / n + l2 * w[c][j])
        run.log("loss", round(loss, 6))
        if epoch % 50 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch + 1}/{epochs}: loss {loss:.4f}")
    return w, b, loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="folder holding train.csv (the prepare step's output)")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--learning-rate", type=float, default=0.5)
    parser.add_argument("--l2", type=float, default=0.001, help="L2 penalty on the weights")
    parser.add_argument("--out", required=True, help="folder that receives model.json")
    args = parser.parse_args()
    if args.epochs < 1 or args.learning_rate <= 0:
        raise SystemExit("train: --epochs must be >= 1 and --learning-rate > 0")

    features, raw, ys = load_split(os.path.join(args.data, "train.csv"))
    mean, std = standardise(raw)
    xs = [[(v - m) / s for v, m, s in zip(x, mean, std, strict=True)] for x in raw]
    classes = sorted(set(ys))
    print(f"training on {len(xs)} rows, {len(features)} features, classes {classes}")

    run = Run.get_context()
    w, b, loss = fit(xs, ys, classes, args.epochs, args.learning_rate, args.l2, run)
    run.log("final_loss", round(loss, 6))

    model = {
        "kind": "multinomial_logistic_regression",
        "features": features,
        "classes": classes,
        "mean": mean,
        "std": std,
        "weights": w,
        "bias": b,
        "hyperparameters": {"epochs": args.epochs, "learning_rate": args.learning_rate, "l2": args.l2},
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "model.json"), "w", encoding="utf-8") as f:
        json.dump(model, f, indent=2)


if __name__ == "__main__":
    main()
