# shellcheck shell=bash
# gateway-api.sh: what the gateway scripts share: the gateway URL, the key, and one way to call the API.
# Sourced by scripts/health-check.sh, scripts/usage-report.sh, scripts/conformance.sh, after lib/common.sh
# (its dotenv_value and curl_bearer); not a program.

need_tools curl python3
project_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
gateway_default=http://127.0.0.1:4000
gateway="${GATEWAY_URL:-$gateway_default}"
gateway="${gateway%/}"

# gateway_key [admin]: sets $key and $key_source: LITELLM_MASTER_KEY, else gateway/.env, else (unless `admin` is
# asked for) ANTHROPIC_AUTH_TOKEN, a developer's key. The key is never printed.
# shellcheck disable=SC2034  # key_source is read by the scripts that source this file
gateway_key() {
  key="${LITELLM_MASTER_KEY:-}"
  key_source="LITELLM_MASTER_KEY"
  if [ -z "$key" ] && [ -f "$project_root/gateway/.env" ]; then
    key=$(dotenv_value "$project_root/gateway/.env" LITELLM_MASTER_KEY || true)
    key_source="gateway/.env"
  fi
  if [ -z "$key" ] && [ "${1:-}" != admin ]; then
    key="${ANTHROPIC_AUTH_TOKEN:-}"
    key_source="ANTHROPIC_AUTH_TOKEN"
  fi
}

# gateway_request METHOD PATH TIMEOUT [JSON-BODY]: prints "<HTTP status> <body>" ("000 <curl error>" when there
# is no answer). The key reaches curl on stdin, never on its command line (where `ps` would show it). The rules of
# lib/http_client.py, which the Python tools use: a redirect is not followed (curl without -L: the 3xx status is
# printed), TIMEOUT bounds the whole call (--max-time), and an answer above 8 MB is refused (--max-filesize).
gateway_request() {
  local body_file status
  body_file=$(mktemp)
  local data=()
  if [ -n "${4:-}" ]; then
    data=(--data-binary "$4" -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01')
  fi
  if status=$(curl_bearer "${key:-}" \
      | curl -sS -o "$body_file" -w '%{http_code}' -X "$1" --connect-timeout 5 --max-time "$3" \
          --max-filesize 8388608 --config - \
          "${data[@]}" "$gateway$2" 2>&1); then
    printf '%s %s' "$status" "$(cat "$body_file")"
  else
    printf '000 %s' "$status"
  fi
  rm -f "$body_file"
}
