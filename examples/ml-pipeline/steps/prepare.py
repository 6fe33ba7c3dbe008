"""Step 1: shuffle the labelled CSV with a fixed seed and split it into train.csv and test.csv.

Run alone (outside a pipeline ``Run.get_context()`` just prints what is logged):
    python prepare.py --input ../data/iris.csv --test-ratio 0.3 --seed 7 --out /tmp/split
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys

from headrace import Run


def read_rows(path: str) -> tuple[list[str], list[list[str]]]:
    """The header and the non-empty rows of a CSV file (``path`` may be the file or its folder)."""
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if n.endswith(".csv"))
        if not names:
            sys.exit(f"prepare: no .csv file in {path}")
        path = os.path.join(path, names[0])
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [row for row in reader if row]


def write_rows(path: str, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", required=True, help="the labelled CSV (last column is the label)")
    parser.add_argument("--test-ratio", type=float, default=0.3, help="share of rows kept for testing")
    parser.add_argument("--seed", type=int, default=7, help="seed of the shuffle")
    parser.add_argument("--out", required=True, help="folder that receives train.csv and test.csv")
    args = parser.parse_args()
    if not 0.0 < args.test_ratio < 1.0:
        sys.exit(f"prepare: --test-ratio must be between 0 and 1 (exclusive), got {args.test_ratio}")

    header, rows = read_rows(args.input)
    random.Random(args.seed).shuffle(rows)
    n_test = max(1, round(len(rows) * args.test_ratio))
    test, train = rows[:n_test], rows[n_test:]
    if not train:
        sys.exit(f"prepare: --test-ratio {args.test_ratio} leaves no training rows out of {len(rows)}")

    os.makedirs(args.out, exist_ok=True)
    write_rows(os.path.join(args.out, "train.csv"), header, train)
    write_rows(os.path.join(args.out, "test.csv"), header, test)
    print(f"read {len(rows)} rows from {args.input}; train {len(train)}, test {len(test)} (seed {args.seed})")

    run = Run.get_context()
    run.log("rows", len(rows))
    run.log("train_rows", len(train))
    run.log("test_rows", len(test))


if __name__ == "__main__":
    main()
