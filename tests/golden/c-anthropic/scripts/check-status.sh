#!/usr/bin/env bash
# check-status.sh: does the environment Claude Code will see match Pattern C (LLM gateway (LiteLLM, recommended for teams))?
#
# Claude Code sees your shell environment overlaid with the `env` object of ~/.claude/settings.json (the
# settings win). This script checks that overlay and then each network hop in order, one line per check, and
# names the first failing hop:
#   config      the variables this pattern needs are set to the generated values
#   conflicts   variables that would send Claude Code elsewhere are absent
#   version     the installed Claude Code is the one in versions.env (the gateway is tested with it)
#   credential  a credential is available (never printed), and not two that conflict
#   gateway     http://127.0.0.1:4000/health/liveliness answers an HTTP request (any status counts)
#               and accepts your key (GET /v1/models)
#   provider    one small model call through the gateway succeeds (the gateway reaches its provider)
# Every network step has a short timeout; no password or key is ever printed.
#
# Usage:  scripts/check-status.sh [--offline]     --offline skips the network checks
# Exit:   0 all checks passed; 1 at least one check failed; 2 usage error
set -eu

# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
ENDPOINT_TIMEOUT=10   # seconds for the whole endpoint request
ROUND_TRIP_TIMEOUT=60 # seconds for one model call through the gateway (a provider can be slow)
CONNECT_TIMEOUT=5     # seconds to open the connection

usage() { echo "usage: $0 [--offline]" >&2; exit 2; }
offline=0
for arg in "$@"; do
  case "$arg" in
    --offline) offline=1 ;;
    -h|--help) script_help "$0"; exit 0 ;;
    *) usage ;;
  esac
done

# The policy here: every check runs; they are counted, and the first failing hop is named at the end.
failures=0
checks=0
pass() { checks=$((checks + 1)); report_ok "$1"; }
first_failed=""
fail() {
  checks=$((checks + 1)); failures=$((failures + 1)); report_fail "$1"
  [ -n "$first_failed" ] || first_failed=${1%%:*}
}
skip() { report_skip "$1"; }

if [ -n "${CLAUDE_CONFIG_DIR:-}" ] || [ -n "${HOME:-}" ]; then
  settings_file="${CLAUDE_CONFIG_DIR:-$HOME/.claude}/settings.json"
else
  settings_file=/nonexistent/settings.json
  fail "config: HOME is not set (nor CLAUDE_CONFIG_DIR): Claude Code would find no settings or login; set HOME"
fi

# settings_lookup KEY: print settings.json's value for KEY (`env.NAME` or a top-level key); exit 1 if absent.
settings_lookup() {
  [ -f "$settings_file" ] || return 1
  python3 - "$settings_file" "$1" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    data = json.load(f)
section, _, key = sys.argv[2].rpartition(".")
node = data.get(section, {}) if section else data
if not isinstance(node, dict) or key not in node:
    sys.exit(1)
value = node[key]
print(value if isinstance(value, str) else json.dumps(value))
PY
}

# effective NAME: sets $value and $source to what Claude Code will see for NAME (settings win over shell).
effective() {
  if value=$(settings_lookup "env.$1"); then
    source="$settings_file"
  elif [ -n "$(printenv "$1" 2>/dev/null || true)" ]; then
    value=$(printenv "$1"); source="your shell"
  else
    value=""; source=""
  fi
}

# -- settings file ---------------------------------------------------------------------------------------
if [ ! -f "$settings_file" ]; then
  pass "settings: no $settings_file; Claude Code sees your shell environment only"
elif ! command -v python3 >/dev/null 2>&1; then
  fail "settings: python3 not found, so $settings_file cannot be read; install python3"
  settings_file=/nonexistent
elif python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if isinstance(d, dict) and isinstance(d.get("env", {}), dict) else 1)' "$settings_file" 2>/dev/null; then
  pass "settings: $settings_file is valid JSON"
else
  fail "settings: $settings_file is not valid JSON or its \"env\" is not an object; fix it (Claude Code ignores a broken file)"
  settings_file=/nonexistent   # read the shell only from here on
fi

# -- config: what this pattern needs ---------------------------------------------------------------------
expect() {
  effective "$1"
  if [ "$value" = "$2" ]; then
    pass "config: $1=$2"
  elif [ -z "$source" ]; then
    fail "config: $1 is not set, expected '$2'; source client/env.sh or merge client/settings.json into $settings_file"
  else
    fail "config: $1 is '$value' (from $source), expected '$2'; fix it there or re-source client/env.sh"
  fi
}
# expect_empty NAME: NAME must be unset or empty (its value is never printed: it may be a key)
expect_empty() {
  effective "$1"
  if [ -z "$value" ]; then
    pass "config: $1 is empty"
  else
    fail "config: $1 is set (from $source) but must be empty: $2"
  fi
}
# expect_proxy NAME URL: NAME is URL with user:password added (the password is never printed)
expect_proxy() {
  effective "$1"
  bare=$(printf '%s' "$value" | sed -E 's#^([A-Za-z]+://)[^@/]*@#\1#')
  if [ -z "$source" ]; then
    fail "config: $1 is not set, expected $2 with your credentials; export PROXY_PASSWORD and source client/env.sh"
  elif [ "$bare" != "$2" ]; then
    fail "config: $1 (from $source) points at $bare, expected $2; source client/env.sh"
  elif [ "$bare" = "$value" ]; then
    if [ "$source" = "your shell" ]; then
      fail "config: $1 carries no credentials; export PROXY_PASSWORD and source client/env.sh again"
    else
      fail "config: $1 in $source carries no credentials and overrides your shell; run client/install.sh (it removes it)"
    fi
  else
    pass "config: $1=$2 with credentials (from $source)"
  fi
}

expect ANTHROPIC_BASE_URL http://127.0.0.1:4000
expect_empty ANTHROPIC_API_KEY 'Empty on purpose: the gateway key goes in ANTHROPIC_AUTH_TOKEN (or the apiKeyHelper); both at once conflict.'
expect ANTHROPIC_DEFAULT_OPUS_MODEL claude-opus-5-5
expect ANTHROPIC_DEFAULT_SONNET_MODEL claude-sonnet-5-5
expect ANTHROPIC_DEFAULT_HAIKU_MODEL claude-haiku-5-5
expect DISABLE_AUTOUPDATER 1

# -- conflicts: what would send Claude Code somewhere else -----------------------------------------------
forbid() {
  effective "$1"
  if [ -z "$source" ]; then
    pass "conflicts: $1 is not set"
  else
    fail "conflicts: $1 is set (from $source) but must not be: $2; remove it"
  fi
}

forbid CLAUDE_CODE_USE_BEDROCK 'it makes Claude Code bypass the gateway for AWS Bedrock'
forbid CLAUDE_CODE_USE_VERTEX 'it makes Claude Code bypass the gateway for Google Vertex AI'
forbid CLAUDE_CODE_USE_FOUNDRY 'it makes Claude Code bypass the gateway for Microsoft Foundry'
forbid NODE_TLS_REJECT_UNAUTHORIZED 'it switches off certificate checks; trust a corporate CA with NODE_EXTRA_CA_CERTS (corporate_ca_cert) instead'

# -- version: the installed Claude Code against the one this setup is tested with (versions.env) ---------
pinned_version=$(dotenv_value "$(dirname "$0")/../versions.env" CLAUDE_CODE_VERSION || true)
install_hint="npm install -g @anthropic-ai/claude-code@$pinned_version"
if [ -z "$pinned_version" ]; then
  fail "version: versions.env has no CLAUDE_CODE_VERSION; restore the file from git"
elif ! command -v claude >/dev/null 2>&1; then
  skip "version: claude is not in PATH; install the tested version: $install_hint"
else
  # `claude --version` prints "2.1.332 (Claude Code)"; bounded where coreutils' timeout exists (not on macOS).
  if command -v timeout >/dev/null 2>&1; then
    installed_version=$(timeout 15 claude --version 2>/dev/null | awk 'NR == 1 { print $1 }' || true)
  else
    installed_version=$(claude --version 2>/dev/null | awk 'NR == 1 { print $1 }' || true)
  fi
  case "$installed_version" in [0-9]*.[0-9]*) ;; *) installed_version="" ;; esac   # a version, not an error text
  if [ -z "$installed_version" ]; then
    fail "version: \`claude --version\` printed no version; reinstall Claude Code: $install_hint"
  elif [ "$installed_version" = "$pinned_version" ]; then
    pass "version: Claude Code $installed_version, the version this setup is tested with"
  else
    fail "version: Claude Code $installed_version is installed, the gateway is tested with $pinned_version (versions.env); install it: $install_hint, or bump the pair (README: Versions and upgrades)"
  fi
fi

# -- credential (never printed) --------------------------------------------------------------------------
effective ANTHROPIC_AUTH_TOKEN
if [ -n "$value" ]; then
  pass "credential: ANTHROPIC_AUTH_TOKEN is set (from $source)"
else
  fail "credential: ANTHROPIC_AUTH_TOKEN is not set; export your gateway key: export ANTHROPIC_AUTH_TOKEN=<key>"
fi

# -- network: gateway ------------------------------------------------
effective ANTHROPIC_BASE_URL
endpoint_default=http://127.0.0.1:4000
endpoint="${value:-$endpoint_default}"
endpoint="${endpoint%/}"
target=$(printf '%s' "$endpoint" | sed -E 's#^[A-Za-z]+://([^/]*).*#\1#')   # host[:port]
proxy=""        # the proxy URL Claude Code will use for this endpoint; it may carry credentials: never printed
proxy_shown=""  # the same without user:password
ca_file=""

# probe [CA-FILE]: one request to the endpoint, through the proxy when routed; sets probe_rc, probe_connect
# (the proxy's answer to CONNECT), probe_status and probe_error. Options reach curl on stdin, not argv.
probe() {
  probe_rc=0
  out=$(curl_options "$endpoint"/health/liveliness "${1:-}" \
    | curl -sS -o /dev/null -w '%{http_connect} %{http_code}' --connect-timeout "$CONNECT_TIMEOUT" \
          --max-time "$ENDPOINT_TIMEOUT" --config - 2>&1) || probe_rc=$?
  probe_connect=$(printf '%s' "$out" | tail -n 1 | awk '{print $(NF-1)}')
  probe_status=$(printf '%s' "$out" | tail -n 1 | awk '{print $NF}')
  probe_error=$(printf '%s' "$out" | grep '^curl:' | head -n 1 || true)
}

# curl_options URL [CA-FILE] [TOKEN] [JSON-BODY]: a curl config (read from stdin, so secrets stay off argv)
curl_options() {
  curl_config url "$1"
  if [ -n "$proxy" ]; then curl_config proxy "$proxy"; else curl_config noproxy '*'; fi
  if [ -n "${2:-}" ]; then curl_config cacert "$2"; fi
  curl_bearer "${3:-}"
  if [ -n "${4:-}" ]; then
    curl_config header "content-type: application/json"
    curl_config header "anthropic-version: 2023-06-01"
    curl_config data "$4"
  fi
}

# gateway_call PATH TOKEN [JSON-BODY]: sets call_status (000 when nothing answered) and call_body (its first 2000
# bytes) of a gateway call
gateway_call() {
  call_body_file=$(mktemp)
  call_status=$(curl_options "$endpoint$1" "$trusted_ca" "$2" "${3:-}" \
    | curl -sS -o "$call_body_file" -w '%{http_code}' --connect-timeout "$CONNECT_TIMEOUT" \
        --max-time "$ROUND_TRIP_TIMEOUT" --config - 2>/dev/null || true)
  call_body=$(head -c 2000 "$call_body_file")
  rm -f "$call_body_file"
}

# key_refused: names why the gateway refused the key, from its answer (LiteLLM's messages), and whom to ask
key_refused() {
  contact='the team that runs your gateway'
  case "$call_body" in
    *"Budget has been exceeded"*)
      fail "gateway: the budget of your key is used up (HTTP $call_status); ask $contact for more" ;;
    *"Key is blocked"*)
      fail "gateway: your key is blocked (revoked) (HTTP $call_status); ask $contact for a new one" ;;
    *"token_not_found_in_db"*|*"Invalid API key provided"*|*"Invalid proxy server token"*)
      fail "gateway: the gateway does not know your key (deleted, or mistyped) (HTTP $call_status); check ANTHROPIC_AUTH_TOKEN or ask $contact for a new one" ;;
    *)
      if [ "$call_status" = 429 ]; then
        fail "gateway: your key is over its rate limit right now (HTTP 429); wait a minute, or ask $contact for a higher limit"
      else
        fail "gateway: the gateway refused the key (HTTP $call_status); check ANTHROPIC_AUTH_TOKEN (ask $contact for your own key)"
      fi ;;
  esac
}
# gateway_hops: the gateway accepts the key, and one model call goes through it to the provider
gateway_hops() {
  effective ANTHROPIC_AUTH_TOKEN
  token=$value
  [ -n "$token" ] || { skip "gateway: key and round trip not checked (no ANTHROPIC_AUTH_TOKEN)"; return 0; }
  gateway_call /v1/models "$token"
  case "$call_status" in
    200) pass "gateway: the key from ANTHROPIC_AUTH_TOKEN is accepted" ;;
    400|401|403|422|429) key_refused; return 0 ;;
    *) fail "gateway: /v1/models answered HTTP $call_status"; return 0 ;;
  esac
  body='{"model": "claude-haiku-5-5", "max_tokens": 8, "messages": [{"role": "user", "content": "Reply with OK."}]}'
  gateway_call /v1/messages "$token" "$body"
  if [ "$call_status" = 200 ]; then
    pass "provider: one model call through the gateway succeeded"
  else
    case "$call_body" in
      *"Budget has been exceeded"*) key_refused ;;  # the budget ran out with this very call
      *) fail "provider: a model call through the gateway answered HTTP $call_status; the gateway cannot reach its provider? run scripts/health-check.sh where the gateway runs (its proxy, CA bundle and provider credentials)" ;;
    esac
  fi
}

if [ "$offline" -eq 1 ]; then
  skip "network: not contacted (--offline)"
elif ! command -v curl >/dev/null 2>&1; then
  fail "network: curl not found; install curl, or run with --offline"
else
  network_ok=1
  if [ "$network_ok" -eq 1 ]; then
    trusted_ca=""
    probe
    if [ "$probe_rc" -eq 60 ] && [ -n "$ca_file" ]; then
      trusted_ca=$ca_file
      probe "$ca_file"   # Node trusts its public roots plus NODE_EXTRA_CA_CERTS: try the corporate CA too
      [ "$probe_rc" -ne 0 ] || pass "tls: $target presents a certificate from your corporate CA ($trusted_ca)"
    fi
    case "$probe_rc:$probe_connect" in
      0:*)
        if [ -n "$proxy" ]; then pass "proxy: CONNECT to $target accepted (HTTP ${probe_connect:-200})"; fi
        pass "gateway: $endpoint answered HTTP $probe_status"
        gateway_hops
        ;;
      *:407|*:401)  # 407 is the standard answer; some proxies (tinyproxy) answer 401
        if [ "$proxy" = "$proxy_shown" ]; then
          fail "proxy: the proxy requires authentication (HTTP $probe_connect); answer proxy_username and export PROXY_PASSWORD"
        else
          fail "proxy: the proxy refused the credentials (HTTP $probe_connect): check PROXY_PASSWORD (and proxy_username), then source client/env.sh again"
        fi ;;
      56:[1-9]*)
        fail "proxy: the proxy refused CONNECT to $target (HTTP $probe_connect); ask for it to be allowed (docs/egress-allowlist.md)" ;;
      60:*)
        if [ -n "$ca_file" ]; then
          fail "tls: the certificate of $target is not trusted, not even with NODE_EXTRA_CA_CERTS=$ca_file; is that the root CA that signs your proxy's certificates?"
        else
          fail "tls: the certificate of $target is not trusted (TLS inspection?): set corporate_ca_cert to your corporate root CA (PEM)"
        fi ;;
      35:*|58:*|59:*|77:*|80:*|83:*)
        fail "tls: the TLS handshake with $target failed ($probe_error)" ;;
      5:*)
        fail "proxy: cannot resolve the proxy host ($probe_error)" ;;
      7:*|28:*)
        if [ -n "$proxy" ]; then
          fail "proxy: no answer through the proxy within ${ENDPOINT_TIMEOUT}s ($probe_error)"
        else
          fail "gateway: $endpoint did not answer within ${ENDPOINT_TIMEOUT}s ($probe_error); check the URL and your network"
        fi ;;
      *)
        fail "gateway: $endpoint did not answer ($probe_error); check the URL and your network" ;;
    esac
  fi
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures of $checks checks failed; first failing hop: $first_failed"
  exit 1
fi
echo "all $checks checks passed"
