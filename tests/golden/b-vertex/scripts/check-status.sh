#!/usr/bin/env bash
# check-status.sh: does the environment Claude Code will see match Pattern B (Corporate proxy,
# Google Vertex AI)?
#
# Claude Code sees your shell environment overlaid with the `env` object of ~/.claude/settings.json (the
# settings win). This script checks that overlay and then each network hop in order, one line per check, and
# names the first failing hop:
#   config      the variables this pattern needs are set to the generated values
#   conflicts   variables that would send Claude Code elsewhere are absent
#   version     the installed Claude Code is the one in versions.env
#   credential  a credential is available (never printed), and not two that conflict
#   route       whether provider traffic goes through the proxy or directly (NO_PROXY)
#   proxy       the proxy accepts connections, the credentials and the CONNECT to provider
#   tls         the certificate provider presents (through TLS inspection) is trusted
#   provider    https://aiplatform.googleapis.com/v1 answers an HTTP request (any status counts)
# Every network step has a short timeout; no password or key is ever printed.
#
# Usage:  scripts/check-status.sh [--offline]     --offline skips the network checks
# Exit:   0 all checks passed; 1 at least one check failed; 2 usage error
set -eu

# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
ENDPOINT_TIMEOUT=10   # seconds for the whole endpoint request
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

expect CLAUDE_CODE_USE_VERTEX 1
expect CLOUD_ML_REGION global
expect ANTHROPIC_VERTEX_PROJECT_ID my-team-prod
expect ANTHROPIC_DEFAULT_OPUS_MODEL claude-opus-5-5
expect ANTHROPIC_DEFAULT_SONNET_MODEL claude-sonnet-5-5
expect ANTHROPIC_DEFAULT_HAIKU_MODEL claude-haiku-4-5@20251001
expect CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC 1
expect HTTPS_PROXY http://proxy.example.com:8080
expect HTTP_PROXY http://proxy.example.com:8080
expect NO_PROXY localhost,127.0.0.1,::1

# -- conflicts: what would send Claude Code somewhere else -----------------------------------------------
forbid() {
  effective "$1"
  if [ -z "$source" ]; then
    pass "conflicts: $1 is not set"
  else
    fail "conflicts: $1 is set (from $source) but must not be: $2; remove it"
  fi
}

forbid CLAUDE_CODE_USE_BEDROCK 'it switches Claude Code to AWS Bedrock'
forbid CLAUDE_CODE_USE_FOUNDRY 'it switches Claude Code to Microsoft Foundry'
forbid ANTHROPIC_VERTEX_BASE_URL 'it would send Google Vertex AI traffic to another endpoint'
forbid CLAUDE_CODE_SKIP_VERTEX_AUTH 'it stops Claude Code signing its requests (right only behind a gateway)'
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
    pass "version: Claude Code $installed_version (this setup was tested with $pinned_version; scripts/conformance.sh checks a new one)"
  fi
fi

# -- credential (never printed) --------------------------------------------------------------------------
# Google Application Default Credentials, checked without calling gcloud (it may be absent).
effective GOOGLE_APPLICATION_CREDENTIALS; adc_file=$value; adc_source=$source
default_adc="${CLOUDSDK_CONFIG:-$HOME/.config/gcloud}/application_default_credentials.json"
if [ -n "$adc_source" ]; then
  if [ -f "$adc_file" ]; then
    pass "credential: GOOGLE_APPLICATION_CREDENTIALS points at an existing file (from $adc_source)"
  else
    fail "credential: GOOGLE_APPLICATION_CREDENTIALS (from $adc_source) points at $adc_file, which does not exist"
  fi
elif [ -f "$default_adc" ]; then
  pass "credential: application default credentials found in $default_adc"
else
  fail "credential: no Google application default credentials ($default_adc is missing); run: gcloud auth application-default login"
fi

# -- network: route, proxy, tls, provider ------------------------------------------------
effective ANTHROPIC_VERTEX_BASE_URL
endpoint_default=https://aiplatform.googleapis.com/v1
endpoint="${value:-$endpoint_default}"
endpoint="${endpoint%/}"
target=$(printf '%s' "$endpoint" | sed -E 's#^[A-Za-z]+://([^/]*).*#\1#')   # host[:port]
proxy=""        # the proxy URL Claude Code will use for this endpoint; it may carry credentials: never printed
proxy_shown=""  # the same without user:password
ca_file=""
host=$(printf '%s' "$target" | sed -E 's#^\[([^]]*)\].*#\1#; t; s#:[0-9]+$##')
effective NO_PROXY; no_proxy=$value
effective NODE_EXTRA_CA_CERTS; ca_file=$value
case "$endpoint" in https:*) effective HTTPS_PROXY ;; *) effective HTTP_PROXY ;; esac
proxy=$value
proxy_shown=$(printf '%s' "$proxy" | sed -E 's#^([A-Za-z]+://)[^@/]*@#\1#')

# bypasses_proxy HOST: HOST matches an entry of NO_PROXY (exact, a domain suffix, or *)
bypasses_proxy() {
  old_ifs=$IFS; IFS=','
  for entry in $no_proxy; do
    entry=$(printf '%s' "$entry" | tr -d ' []')
    case "$entry" in
      '') ;;
      '*') IFS=$old_ifs; return 0 ;;
      .*) case "$1" in *"$entry"|"${entry#.}") IFS=$old_ifs; return 0 ;; esac ;;
      *) case "$1" in "$entry"|*."$entry") IFS=$old_ifs; return 0 ;; esac ;;
    esac
  done
  IFS=$old_ifs
  return 1
}

# probe [CA-FILE]: one request to the endpoint, through the proxy when routed; sets probe_rc, probe_connect
# (the proxy's answer to CONNECT), probe_status and probe_error. Options reach curl on stdin, not argv.
probe() {
  probe_rc=0
  out=$(curl_options "$endpoint"/ "${1:-}" \
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

if [ "$offline" -eq 1 ]; then
  skip "network: not contacted (--offline)"
elif ! command -v curl >/dev/null 2>&1; then
  fail "network: curl not found; install curl, or run with --offline"
else
  network_ok=1
  if bypasses_proxy "$host"; then
    pass "route: $host is in NO_PROXY, so Claude Code reaches it directly"
    proxy=""
  elif [ -z "$proxy" ]; then
    fail "route: no proxy is set for $endpoint; source client/env.sh"
    network_ok=0
  else
    pass "route: $host goes through the proxy $proxy_shown"
    proxy_rc=0
    reach=$(curl_config url "$proxy_shown" | curl -sS -o /dev/null --connect-timeout "$CONNECT_TIMEOUT" \
              --max-time "$CONNECT_TIMEOUT" --config - 2>&1) || proxy_rc=$?
    case "$proxy_rc" in
      0|52|56) pass "proxy: $proxy_shown accepts connections" ;;
      *) fail "proxy: cannot reach $proxy_shown ($(printf '%s' "$reach" | head -n 1)); check proxy_url and that you are on the corporate network"
         network_ok=0 ;;
    esac
  fi
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
        pass "provider: $endpoint answered HTTP $probe_status"
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
          fail "provider: $endpoint did not answer within ${ENDPOINT_TIMEOUT}s ($probe_error); check the URL and your network"
        fi ;;
      *)
        fail "provider: $endpoint did not answer ($probe_error); check the URL and your network" ;;
    esac
  fi
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures of $checks checks failed; first failing hop: $first_failed"
  exit 1
fi
echo "all $checks checks passed"
