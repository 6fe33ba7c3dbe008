#!/usr/bin/env bash
# Sets everything up and runs the example ML pipeline on the embedded workspace (./.headrace),
# then shows the run. Run it twice: the second run reuses every step.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HEADRACE_HOME=${HEADRACE_HOME:-$PWD/.headrace}
.venv/bin/python examples/ml-pipeline/pipeline.py "$@"
run_id=$(.venv/bin/headrace run list --limit 1 --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
.venv/bin/headrace run show "$run_id"
echo
echo "Inspect more with: .venv/bin/headrace run logs $run_id train    (workspace: $HEADRACE_HOME)"
