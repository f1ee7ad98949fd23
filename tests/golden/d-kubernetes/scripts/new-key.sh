#!/usr/bin/env bash
# new-key.sh: create a developer's own gateway key (a LiteLLM virtual key), so nobody but the platform team
# ever holds the master key. Spend is then tracked per developer, and an optional budget caps it.
#
# Usage:  scripts/new-key.sh <developer> [--budget USD]
#   prints the new key once: hand it to the developer, who puts it in ANTHROPIC_AUTH_TOKEN
# The key's alias names the developer and whom to ask for more budget (the team that runs your gateway): LiteLLM
# puts the alias in its "Budget has been exceeded! Key=..." refusal, which Claude Code shows the developer.
# Needs the master key (LITELLM_MASTER_KEY or gateway/.env) and the gateway's database (spend_database).
# Exit:   0 key created; 1 the gateway refused or did not answer; 2 usage error
set -eu

# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
answer_help "$@"
usage() { echo "usage: $0 <developer> [--budget USD]" >&2; exit 2; }
[ "$#" -ge 1 ] || usage
developer=$1; shift
budget=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --budget) [ "$#" -ge 2 ] || usage; budget=$2; shift 2 ;;
    *) usage ;;
  esac
done
case "$developer" in ''|*[!A-Za-z0-9._@-]*) echo "new-key.sh: developer '$developer' must be letters, digits and . _ @ -" >&2; exit 2 ;; esac
case "$budget" in ''|*[!0-9.]*|*.*.*) [ -z "$budget" ] || { echo "new-key.sh: --budget '$budget' must be a number of US dollars, e.g. 50" >&2; exit 2; } ;; esac

# shellcheck source=lib/gateway-api.sh
. "$(dirname "$0")/lib/gateway-api.sh"
gateway_key admin
[ -n "$key" ] || { echo "new-key.sh: no master key (set LITELLM_MASTER_KEY or run scripts/init-secrets.sh)" >&2; exit 1; }

models='["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"]'
alias_suffix=' (more budget: the team that runs your gateway)'
body=$(python3 - "$developer" "$models" "$budget" "$alias_suffix" <<'PY'
import json, sys
developer, models, budget, alias_suffix = sys.argv[1:]
body = {"key_alias": developer + alias_suffix, "user_id": developer, "models": json.loads(models)}
if budget:
    body["max_budget"] = float(budget)
print(json.dumps(body))
PY
)
reply=$(gateway_request POST /key/generate 30 "$body")
if [ "${reply%% *}" != 200 ]; then
  echo "new-key.sh: $gateway/key/generate answered ${reply:0:300}" >&2
  exit 1
fi
printf '%s' "${reply#* }" | python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])'
echo "created for $developer${budget:+ with a budget of \$$budget}; give it to them for ANTHROPIC_AUTH_TOKEN" >&2
