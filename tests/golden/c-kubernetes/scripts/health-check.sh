#!/usr/bin/env bash
# health-check.sh: is the LiteLLM gateway healthy and serving Claude Code's models? (Pattern C)
#
# Steps, one line each, in order; the first failure stops the run and is named:
#   liveliness   GET /health/liveliness answers (the process is up; no key needed)
#   readiness    GET /health/readiness answers (reports the database)
#   models       GET /v1/models with the key lists exactly the configured model names
#   round-trip   POST /v1/messages to the haiku-tier model gets a reply from the provider
#
# The key comes from LITELLM_MASTER_KEY, else gateway/.env, else ANTHROPIC_AUTH_TOKEN (a developer key); it
# is never printed and never put on a command line. The gateway URL is GATEWAY_URL if set, else https://llm-gateway.example.com.
#
# Usage:  scripts/health-check.sh
# Exit:   0 all steps passed; 1 a step failed (named); 2 usage error
set -eu

# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
answer_help "$@"
[ "$#" -eq 0 ] || { echo "usage: $0   (no arguments; GATEWAY_URL overrides the URL)" >&2; exit 2; }
# shellcheck source=lib/gateway-api.sh
. "$(dirname "$0")/lib/gateway-api.sh"
STEP_TIMEOUT=10        # seconds for each probe
ROUND_TRIP_TIMEOUT=60  # seconds for the model call (a real provider can be slow)
expected_models='claude-haiku-5-5 claude-opus-5-5 claude-sonnet-5-5'
round_trip_model=claude-haiku-5-5

# The policy here: the first failure stops the run, naming its step.
step=0
fail() { report_fail "$1"; echo "health check failed at step $step ($2)"; exit 1; }
pass() { report_ok "$1"; }
gateway_key

step=1
reply=$(gateway_request GET /health/liveliness "$STEP_TIMEOUT")
[ "${reply%% *}" = 200 ] || fail "liveliness: $gateway/health/liveliness answered ${reply:0:160}; is the gateway running?" liveliness
pass "liveliness: $gateway is up"

step=2
reply=$(gateway_request GET /health/readiness "$STEP_TIMEOUT")
[ "${reply%% *}" = 200 ] || fail "readiness: $gateway/health/readiness answered ${reply:0:200}" readiness
pass "readiness: $(printf '%s' "${reply#* }" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("status", d.get("status"), "- db", d.get("db"))' 2>/dev/null || echo ready)"

step=3
[ -n "$key" ] || fail "models: no key (set LITELLM_MASTER_KEY, run scripts/init-secrets.sh, or export ANTHROPIC_AUTH_TOKEN)" models
reply=$(gateway_request GET /v1/models "$STEP_TIMEOUT")
case "${reply%% *}" in
  200) ;;
  401|403|400) fail "models: the key from $key_source was refused (HTTP ${reply%% *})" models ;;
  *) fail "models: /v1/models answered ${reply:0:200}" models ;;
esac
served=$(printf '%s' "${reply#* }" | python3 -c 'import json,sys; print(" ".join(sorted(m["id"] for m in json.load(sys.stdin)["data"])))')
[ "$served" = "$expected_models" ] || fail "models: the gateway serves '$served', expected '$expected_models' (restart it after changing gateway/litellm_config.yaml)" models
pass "models: $served"

step=4
body=$(printf '{"model": "%s", "max_tokens": 16, "messages": [{"role": "user", "content": "Reply with OK."}]}' "$round_trip_model")
reply=$(gateway_request POST /v1/messages "$ROUND_TRIP_TIMEOUT" "$body")
[ "${reply%% *}" = 200 ] || fail "round-trip: POST /v1/messages ($round_trip_model) answered ${reply:0:300}; check the provider credentials in gateway/.env and gateway logs" round-trip
text=$(printf '%s' "${reply#* }" | python3 -c 'import json,sys; print("".join(b.get("text","") for b in json.load(sys.stdin)["content"])[:60])' 2>/dev/null) \
  || fail "round-trip: the reply is not an Anthropic message: ${reply:0:200}" round-trip
pass "round-trip: $round_trip_model replied \"$text\""
echo "all 4 steps passed"
