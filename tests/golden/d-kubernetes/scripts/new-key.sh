#!/usr/bin/env bash
# new-key.sh: create one developer's own gateway key (a LiteLLM virtual key) by hand, so nobody but the platform
# team ever holds the master key. Spend is then tracked per developer, and an optional budget caps it.
# For a whole company, list developers in gateway/access.yaml and run scripts/sync-access.sh instead: it is
# reviewed, repeatable, and never touches keys made here.
#
# Usage:  scripts/new-key.sh <developer> [--budget USD]
#   prints the new key once: hand it to the developer, who puts it in ANTHROPIC_AUTH_TOKEN
# The key's alias names the developer and whom to ask for more budget (the team that runs your gateway): LiteLLM
# puts the alias in its "Budget has been exceeded! Key=..." refusal, which Claude Code shows the developer.
# Names LiteLLM gives its own identities (default_user_id, litellm...) are refused: a key made for one of them acts
# as that identity (default_user_id is the master key's user, admin of every team the master key creates).
# Needs the master key (LITELLM_MASTER_KEY or gateway/.env) and the gateway's database (spend_database).
# A redirect is never followed; GATEWAY_API_TIMEOUT (seconds, default 30) bounds the call.
# Exit:   0 key created; 1 the gateway refused or did not answer; 2 usage error (or a reserved name)
set -eu

# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
answer_help "$@"
usage() { echo "usage: $0 <developer> [--budget USD]" >&2; exit 2; }
[ "$#" -ge 1 ] || usage
developer=$1; shift
budget=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --budget) [ "$#" -ge 2 ] || usage; budget=(--budget "$2"); shift 2 ;;
    *) usage ;;
  esac
done
case "${budget[1]:-1}" in ''|*[!0-9.]*|*.*.*|.) echo "new-key.sh: --budget '${budget[1]}' must be a number of US dollars, e.g. 50" >&2; exit 2 ;; esac

# shellcheck source=lib/gateway-api.sh
. "$(dirname "$0")/lib/gateway-api.sh"
gateway_key admin
[ -n "$key" ] || { echo "new-key.sh: no master key (set LITELLM_MASTER_KEY or run scripts/init-secrets.sh)" >&2; exit 1; }

GATEWAY_URL=$gateway GATEWAY_ADMIN_KEY=$key python3 "$(dirname "$0")/lib/access.py" new-key "$developer" \
  --models '["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"]' --alias-suffix ' (more budget: the team that runs your gateway)' \
  ${budget[@]+"${budget[@]}"}
echo "created for $developer${budget[1]:+ with a budget of \$${budget[1]}}; give it to them for ANTHROPIC_AUTH_TOKEN" >&2
