#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: venv + dependencies, a throwaway PostgreSQL
# server on 127.0.0.1 (for the store conformance suite), moto's S3 server and Azurite (cloud
# datastores), chromium (for the browser tests), the
# import-layer check, then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

CLEANUP=":"
trap 'eval "$CLEANUP"' EXIT
if [ -z "${HEADRACE_TEST_PG_URL:-}" ]; then
  bash scripts/pg.sh start
  CLEANUP="$CLEANUP; bash scripts/pg.sh stop || true"
  HEADRACE_TEST_PG_URL=$(bash scripts/pg.sh url)
  export HEADRACE_TEST_PG_URL
fi

# Cloud datastore tests run on real emulators (moto's S3 server, Azurite) on 127.0.0.1.
if [ -z "${HEADRACE_TEST_S3_ENDPOINT:-}" ] || [ -z "${HEADRACE_TEST_AZURE_CONNECTION_STRING:-}" ]; then
  bash scripts/emulators.sh start
  CLEANUP="$CLEANUP; bash scripts/emulators.sh stop || true"
  eval "$(bash scripts/emulators.sh env)"
fi

# The Dask target tests (tests/dask) start their own `dask scheduler` and `dask worker` processes on
# 127.0.0.1 (ephemeral ports) and keep their data on the S3 emulator above: nothing to start here.

# The browser tests drive Debian's chromium through Playwright (never `playwright install`).
if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing chromium (apt) for the browser tests"
  SUDO=(); [ "$(id -u)" = 0 ] || SUDO=(sudo -n)
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || {
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  }
fi

echo "== lint (ruff)"
.venv/bin/ruff check src tests benchmarks examples compat

echo "== import layers (import-linter)"
.venv/bin/lint-imports --no-cache

echo "== tests"
# pytest exits 5 when it collected no tests: that is a failure too (set -e).
.venv/bin/python -m pytest "$@"
