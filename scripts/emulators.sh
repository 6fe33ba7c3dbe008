#!/usr/bin/env bash
# Cloud storage emulators for tests, on 127.0.0.1: scripts/emulators.sh start|stop|env
#
#   start   start moto's S3 server and Azurite (Blob) unless already running; installs Azurite with npm
#           into .tools/azurite the first time (~50 s); waits until both answer
#   stop    stop both and delete their data folders
#   env     print the variables the tests read (eval "$(scripts/emulators.sh env)"):
#           HEADRACE_TEST_S3_ENDPOINT, HEADRACE_TEST_AZURE_CONNECTION_STRING, AWS_DEFAULT_REGION
#
# Env: HEADRACE_EMU_S3_PORT (default 55490), HEADRACE_EMU_AZURE_PORT (default 55491).
set -euo pipefail
cd "$(dirname "$0")/.."

S3_PORT=${HEADRACE_EMU_S3_PORT:-55490}
AZ_PORT=${HEADRACE_EMU_AZURE_PORT:-55491}
RUN=/tmp/headrace-emulators-$S3_PORT-$AZ_PORT
TOOLS=.tools/azurite
# Azurite's well-known development account (public, documented by Microsoft for the emulator).
AZ_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

die() { echo "emulators.sh: $*" >&2; exit 1; }

answers() {  # port -> exit 0 once something accepts HTTP there
    .venv/bin/python - "$1" <<'EOF'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5).close()
except OSError:
    sys.exit(1)
EOF
}

wait_for() {  # name port pidfile
    for _ in $(seq 1 300); do
        answers "$2" && return 0
        kill -0 "$(cat "$3")" 2>/dev/null || die "$1 exited at start; its log: $RUN/$1.log"
        sleep 0.2
    done
    die "$1 did not answer on 127.0.0.1:$2 within 60 s; its log: $RUN/$1.log"
}

start() {
    mkdir -p "$RUN"
    if ! answers "$S3_PORT"; then
        [ -x .venv/bin/moto_server ] || die "moto_server missing: run scripts/setup.sh (dev extra)"
        AWS_DEFAULT_REGION=us-east-1 nohup .venv/bin/moto_server -H 127.0.0.1 -p "$S3_PORT" \
            >"$RUN/moto.log" 2>&1 &
        echo $! >"$RUN/moto.pid"
        wait_for moto "$S3_PORT" "$RUN/moto.pid"
    fi
    if ! answers "$AZ_PORT"; then
        if [ ! -x "$TOOLS/node_modules/.bin/azurite-blob" ]; then
            command -v npm >/dev/null || die "npm is needed to install Azurite (Debian: apt-get install npm)"
            mkdir -p "$TOOLS"
            npm install --silent --no-audit --no-fund --prefix "$TOOLS" azurite@3 >/dev/null \
                || die "npm install azurite failed"
        fi
        mkdir -p "$RUN/azurite"
        nohup "$TOOLS/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" \
            --location "$RUN/azurite" --skipApiVersionCheck --loose --silent >"$RUN/azurite.log" 2>&1 &
        echo $! >"$RUN/azurite.pid"
        wait_for azurite "$AZ_PORT" "$RUN/azurite.pid"
    fi
}

stop() {
    for name in moto azurite; do
        if [ -f "$RUN/$name.pid" ]; then
            kill "$(cat "$RUN/$name.pid")" 2>/dev/null || true
        fi
    done
    rm -rf "$RUN"
}

env_vars() {
    echo "export HEADRACE_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT"
    echo "export HEADRACE_TEST_AZURE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZ_KEY;BlobEndpoint=http://127.0.0.1:$AZ_PORT/devstoreaccount1;'"
    echo "export AWS_DEFAULT_REGION=us-east-1"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) env_vars ;;
    *) die "usage: scripts/emulators.sh start|stop|env" ;;
esac
