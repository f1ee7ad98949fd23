#!/usr/bin/env bash
# run-local.sh: the LiteLLM gateway as a plain local process (no Docker).
#
# Usage:  gateway/run-local.sh start|stop|status|logs
#   start   install LiteLLM into gateway/.venv once (unless LITELLM_BIN names an existing `litellm`), then start
#           it on 0.0.0.0:4000 with gateway/litellm_config.yaml and the secrets in gateway/.env, and
#           wait until /health/liveliness answers
#   stop    stop the process recorded in gateway/litellm.pid
#   status  say whether it runs and answers
#   logs    the last lines of gateway/litellm.log (`logs -f` follows)
# Exit:   0 done; 1 failed (the message says which step); 2 usage error
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../scripts/lib/common.sh
. "$here/../scripts/lib/common.sh"
answer_help "$@"
need_tools curl
bind=0.0.0.0
port=4000
pidfile="$here/litellm.pid"
logfile="$here/litellm.log"
envfile="$here/.env"
liveliness=http://127.0.0.1:4000/health/liveliness
START_TIMEOUT="${START_TIMEOUT:-90}"   # seconds to wait for liveliness (first boot takes ~5-15 s)
STOP_TIMEOUT=15

die() { echo "run-local.sh: $*" >&2; exit 1; }

running_pid() {
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

alive() { curl -fsS -o /dev/null --max-time 3 "$liveliness" 2>/dev/null; }

litellm_bin() {
  if [ -n "${LITELLM_BIN:-}" ]; then
    [ -x "$LITELLM_BIN" ] || die "LITELLM_BIN=$LITELLM_BIN is not an executable litellm"
    echo "$LITELLM_BIN"
    return
  fi
  if [ ! -x "$here/.venv/bin/litellm" ]; then
    echo "installing LiteLLM into gateway/.venv (once)..." >&2
    python3 -m venv "$here/.venv" >&2 || die "could not create gateway/.venv (is python3-venv installed?)"
    "$here/.venv/bin/pip" install --quiet -r "$here/requirements.txt" >&2 \
      || die "pip install -r gateway/requirements.txt failed"
  fi
  echo "$here/.venv/bin/litellm"
}

# Export gateway/.env without shell evaluation, read as docker compose reads it (scripts/lib/envfile.py).
load_env() {
  [ -f "$envfile" ] || die "gateway/.env is missing; run scripts/init-secrets.sh first"
  local line dotenv_name dotenv_val
  while IFS= read -r line || [ -n "$line" ]; do
    dotenv_parse "$line" || continue   # the one reading of a .env line (scripts/lib/common.sh)
    case "$dotenv_name" in ''|[0-9]*|*[!A-Za-z0-9_]*) die "gateway/.env: cannot read line '$dotenv_name=...'" ;; esac
    export "$dotenv_name=$dotenv_val"
  done < "$envfile"
}

start() {
  if pid=$(running_pid); then echo "already running (pid $pid) on $bind:$port"; return 0; fi
  bin=$(litellm_bin)
  # The gateway must never inherit a client's ANTHROPIC_BASE_URL: its /anthropic pass-through would use it as
  # the upstream and could call itself. Upstreams are set per model in litellm_config.yaml.
  unset ANTHROPIC_BASE_URL ANTHROPIC_AUTH_TOKEN
  load_env
  [ -n "${LITELLM_MASTER_KEY:-}" ] || die "LITELLM_MASTER_KEY is empty in gateway/.env; run scripts/init-secrets.sh"
  [ -f "$here/litellm_config.local.yaml" ] || die "gateway/litellm_config.local.yaml is missing; run scripts/init-secrets.sh"
  export LITELLM_LOCAL_MODEL_COST_MAP=True
  nohup "$bin" --config "$here/litellm_config.yaml" --host "$bind" --port "$port" --num_workers 1 \
    >>"$logfile" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pidfile"
  waited=0
  while [ "$waited" -lt "$START_TIMEOUT" ]; do
    if alive; then echo "started (pid $pid) on $bind:$port; logs: gateway/litellm.log"; return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$pidfile"
      tail -n 20 "$logfile" >&2
      die "start: litellm exited during start-up (last log lines above)"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  die "start: no answer on $liveliness within ${START_TIMEOUT}s (pid $pid still running; see gateway/litellm.log)"
}

stop() {
  if ! pid=$(running_pid); then rm -f "$pidfile"; echo "not running"; return 0; fi
  kill "$pid"
  waited=0
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$STOP_TIMEOUT" ]; do sleep 1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  rm -f "$pidfile"
  echo "stopped (pid $pid)"
}

status() {
  if ! pid=$(running_pid); then echo "not running"; return 1; fi
  if alive; then echo "running (pid $pid), $liveliness answers"; else echo "running (pid $pid), but $liveliness does not answer"; return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status || exit 1 ;;
  logs) if [ "${2:-}" = "-f" ]; then tail -n 100 -f "$logfile"; else tail -n 100 "$logfile"; fi ;;
  *) echo "usage: $0 start|stop|status|logs [-f]" >&2; exit 2 ;;
esac
