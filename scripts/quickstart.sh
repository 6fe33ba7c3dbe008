#!/usr/bin/env bash
# Sets everything up and runs the main job on the embedded workspace (./.headrace, SQLite, a
# local datastore): runs the example ML pipeline, publishes it behind the endpoint
# "iris-training", then serves the REST API (with its agent) on http://127.0.0.1:8765.
# Ctrl+C stops the server. Run it again: the example's steps are reused.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HEADRACE_HOME=${HEADRACE_HOME:-$PWD/.headrace}
PORT=${PORT:-8765}

.venv/bin/python examples/ml-pipeline/pipeline.py
run_id=$(.venv/bin/headrace run list --limit 1 --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
.venv/bin/headrace run show "$run_id"
.venv/bin/python examples/ml-pipeline/publish.py

cat <<TXT

Serving http://127.0.0.1:$PORT/api/v1 (OpenAPI: http://127.0.0.1:$PORT/openapi.json). In another shell:

  TOKEN=\$(python3 -c 'import json; print(json.load(open("$HEADRACE_HOME/config.json"))["token"])')
  curl -X POST http://127.0.0.1:$PORT/api/v1/pipeline-endpoints/by-name/iris-training/submit \\
       -H "Authorization: Bearer \$TOKEN" \\
       -d '{"ExperimentName": "from-curl", "ParameterAssignments": {"epochs": 300}}'
  HEADRACE_HOME=$HEADRACE_HOME .venv/bin/headrace run list

TXT
exec .venv/bin/headrace server --port "$PORT"
