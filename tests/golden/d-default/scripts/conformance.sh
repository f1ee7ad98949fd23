#!/usr/bin/env bash
# conformance.sh: does the gateway answer what Claude Code sends? Run it before a rollout and after every
# upgrade of Claude Code or the gateway (Pattern D, Corporate proxy + LLM gateway (enterprise)).
#
# For each model pinned in client/settings.json (opus, sonnet, haiku) it sends Claude-Code-shaped requests
# (POST /v1/messages?beta=true with the headers the pinned Claude Code sends) through the gateway,
# one line per check:
#   stream        a streamed reply: message_start … message_stop
#   tool_use      a reply with tool_use, and the next turn with its tool_result gets a reply
#   thinking      a thinking block with a signature, sent back unchanged in the next turn, is accepted
#   count_tokens  POST /v1/messages/count_tokens is answered
#   betas         the anthropic-beta list (and its body fields) of the pinned Claude Code gets a 2xx; the list is
#                 recorded from the real CLI into scripts/conformance/claude-code-<version>.json
#   buffering     (once, haiku) on a reply of at least 20 events the first byte arrives before half the total time
# On failure the first failing check is named with what usually causes it. Tiny token budgets (a few cents against
# a real provider; the thinking check asks for 1024 thinking tokens); every request has a timeout and the run a
# total time budget. No key is ever printed.
# Endpoint: GATEWAY_URL, else ANTHROPIC_BASE_URL of client/settings.json. Key: LITELLM_MASTER_KEY, gateway/.env, else
# ANTHROPIC_AUTH_TOKEN (a developer's key).
# Proxy: HTTPS_PROXY, HTTP_PROXY, NO_PROXY and NODE_EXTRA_CA_CERTS of your environment (source client/env.sh first:
# it adds the proxy credentials), else client/settings.json.
#
# Usage:  scripts/conformance.sh [--json] [--timeout SECONDS] [--total-timeout SECONDS]
#         scripts/conformance.sh --offline [--json]   no network: the recording for the pinned Claude Code version
#                                 (versions.env, else the newest recording) exists and parses, the pins are set
#                                 and have model groups in gateway/litellm_config.yaml, the endpoint is a URL
#         scripts/conformance.sh --replay [--json]    the installed claude CLI (or CLAUDE_BIN) runs one agentic turn
#                                 (claude -p, the Bash tool runs `echo`) against the same endpoint
#   --json            one JSON document for CI instead of lines
#   --timeout         seconds per request (default 60; --replay: 3 times that for the whole turn)
#   --total-timeout   seconds for all network checks (default 300)
# Exit:   0 all checks passed; 1 a check failed; 2 usage or configuration error (no key, no recording, ...)
set -eu

# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
answer_help "$@"
need_tools python3
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/gateway-api.sh
. "$(dirname "$0")/lib/gateway-api.sh"
gateway_key
CONFORMANCE_KEY=$key
export CONFORMANCE_KEY   # to the kit by the environment, never on a command line

exec python3 "$root/scripts/lib/conformance.py" --root "$root" --pattern D \
  --mode gateway "$@"
