#!/usr/bin/env bash
# usage-report.sh: spend, requests and tokens per developer, team or model.
#
# From the gateway's Prometheus metrics (GET /metrics/): counters since the gateway started. For history, let a Prometheus server scrape /metrics/, or answer spend_database=true (per-developer
# keys, budgets, and reports for any period).
# Developers: with one shared key, a developer is the name the client sends in the x-litellm-end-user-id header
# (client/env.sh sends the login name, or CLAUDE_GATEWAY_USER). It attributes; it does not authenticate.
#
# Usage:  scripts/usage-report.sh [--by model|key|developer] [--format table|csv|json]
#   default: the tables per model, per key and per developer; csv and json: per developer unless --by says
# CSV cells a spreadsheet would run as a formula (a text starting with = + - @, a tab or CR) get a leading ' ;
# numbers stay numbers.
# GATEWAY_URL overrides http://127.0.0.1:4000. Needs the master key (LITELLM_MASTER_KEY or gateway/.env). A redirect
# is never followed (the key would go along); GATEWAY_API_TIMEOUT (seconds per call, default 30),
# GATEWAY_API_TOTAL_TIMEOUT (per run, 900) and GATEWAY_API_MAX_MB (largest answer read, 8) bound the calls.
# Exit:   0 report printed; 1 the gateway did not answer, refused the key, or answered something the report cannot
#         read (one line); 2 usage error
set -eu

# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
answer_help "$@"
# shellcheck source=lib/gateway-api.sh
. "$(dirname "$0")/lib/gateway-api.sh"
gateway_key admin
[ -n "$key" ] || { echo "usage-report.sh: no master key (set LITELLM_MASTER_KEY or run scripts/init-secrets.sh)" >&2; exit 1; }

GATEWAY_URL=$gateway GATEWAY_ADMIN_KEY=$key exec python3 "$(dirname "$0")/lib/usage_report.py" \
  --source metrics --alias-contact ' (more budget: ' "$@"
