#!/usr/bin/env bash
# usage-report.sh: spend, requests and tokens per developer, team or model.
#
# From the gateway's database (LiteLLM's daily spend tables), for whole UTC days: spend, requests, input, output and
# prompt-cache read and creation tokens, and the budget left now. A developer is the user_id of their key
# (scripts/sync-access.sh, new-key.sh); a team, their key's team. LiteLLM writes spend in batches: a request shows
# up seconds to a minute after it ends.
#
# Usage:  scripts/usage-report.sh [--by developer|team|model] [--since YYYY-MM-DD] [--until YYYY-MM-DD]
#                                 [--format table|csv|json]
#         scripts/usage-report.sh --source metrics [--by model|key|developer] [--format ...]
#   default: per developer, the last 7 days up to today (UTC)
#   --source metrics   the gateway's Prometheus counters instead, since it started (per worker process)
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
  --source database --alias-contact ' (more budget: ' "$@"
