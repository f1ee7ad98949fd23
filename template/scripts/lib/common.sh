# shellcheck shell=bash
# common.sh: what the scripts under scripts/ and gateway/ share. Sourced, not run; defines functions only.
#   script_help FILE           print FILE's header comment (its --help)
#   answer_help ARGS...        print the running script's header and exit 0 when ARGS start with -h or --help
#   report_ok|report_fail|report_skip TEXT
#                              one check result: "ok    TEXT", "FAIL  TEXT", "skip  TEXT" (each script keeps
#                              its own policy: counting, stopping at the first failure)
#   curl_config NAME VALUE     one line of a curl config for `curl --config -`
#   curl_bearer TOKEN          the Authorization header line for TOKEN, as curl config
#   dotenv_value FILE NAME     the value of NAME in a .env file (gateway/.env), as scripts/lib/envfile.py reads it
#   dotenv_read FILE NAME      the same into $dotenv_result (a value may end in a newline)
#   dotenv_parse LINE          what one .env line sets: $dotenv_name and $dotenv_val
#   need_tools TOOL...         exit 1 with one line naming the first TOOL not in PATH
#   kube_forward NAMESPACE SERVICE PORT SECONDS
#                              `kubectl port-forward` to a Service inside the cluster for at most SECONDS, in the
#                              background: sets $kube_forward_url and $kube_forward_pid (stop it with kill)
# client/ scripts do not use this file: they are copied to developer machines on their own.

# script_help FILE: FILE's header comment, the comment lines after the #! line up to the first other line,
# without their leading "# ".
script_help() {
  awk 'NR == 1 { next } !/^#/ { exit } { sub(/^# ?/, ""); print }' "$1"
}

# answer_help ARGS...: when the first argument is -h or --help, print the header of the running script ($0)
# and exit 0.
answer_help() {
  case "${1:-}" in -h|--help) script_help "$0"; exit 0 ;; esac
}

need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$(basename "$0"): needs $tool, which is not in PATH; install it" >&2; exit 1; }
  done
}

# kube_forward NAMESPACE SERVICE PORT SECONDS: forward a free local port to SERVICE:PORT in NAMESPACE (your kubectl
# context) for at most SECONDS, in the background. Sets kube_forward_url (http://127.0.0.1:<port>) and
# kube_forward_pid; returns 1 with one line on stderr when the forward is not up within 20 s. Needs kubectl and
# timeout. The forward goes through the kubelet, so a NetworkPolicy that admits only some pods does not stop it.
kube_forward() {
  local log port="" tries=0
  log=$(mktemp)
  timeout "$4" kubectl --request-timeout=30s -n "$1" port-forward "service/$2" ":$3" >"$log" 2>&1 &
  kube_forward_pid=$!
  while [ "$tries" -lt 40 ]; do
    port=$(sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9][0-9]*\) .*/\1/p' "$log" | head -n 1)
    [ -z "$port" ] || break
    kill -0 "$kube_forward_pid" 2>/dev/null || break
    sleep 0.5
    tries=$((tries + 1))
  done
  if [ -z "$port" ]; then
    echo "$(basename "$0"): kubectl port-forward to service/$2 in namespace $1 did not start: $(tail -n 1 "$log")" >&2
    kill "$kube_forward_pid" 2>/dev/null || true
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
  # shellcheck disable=SC2034  # read by the script that sourced this file
  kube_forward_url="http://127.0.0.1:$port"
}

report_ok() { printf 'ok    %s\n' "$1"; }
report_fail() { printf 'FAIL  %s\n' "$1"; }
report_skip() { printf 'skip  %s\n' "$1"; }

# curl_config NAME VALUE: `NAME = "VALUE"`, with " and \ escaped, for `curl --config -`. Secrets (a key, a
# proxy password) reach curl this way, on its stdin: on its command line `ps` would show them to every user.
curl_config() {
  printf '%s = "%s"\n' "$1" "$(printf '%s' "$2" | sed 's/["\\]/\\&/g')"
}

# curl_bearer TOKEN: the header line `Authorization: Bearer TOKEN` as curl config; nothing when TOKEN is empty.
curl_bearer() {
  [ -z "${1:-}" ] || curl_config header "Authorization: Bearer $1"
}

# The reading of a .env file (gateway/.env, versions.env) is defined once, in scripts/lib/envfile.py (its
# docstring: docker compose's reading of one-line values, never evaluated); dotenv_parse is the same in bash.
# dotenv_parse LINE: set dotenv_name and dotenv_val to what one .env line sets; return 1 (setting nothing) for a
# comment, a blank line, a line without `=`, or a quote that does not close.
dotenv_parse() {
  local line=${1%$'\r'} rest quote char out="" i=1 n
  line="${line#"${line%%[![:blank:]]*}"}"
  case "$line" in ""|"#"*) return 1 ;; esac
  case "$line" in export[[:blank:]]*) line=${line#export}; line="${line#"${line%%[![:blank:]]*}"}" ;; esac
  case "$line" in *=*) ;; *) return 1 ;; esac
  dotenv_name=${line%%=*}
  dotenv_name="${dotenv_name#"${dotenv_name%%[![:blank:]]*}"}"
  dotenv_name="${dotenv_name%"${dotenv_name##*[![:blank:]]}"}"
  rest=${line#*=}
  rest="${rest#"${rest%%[![:blank:]]*}"}"
  case "$rest" in
    \'*|\"*) quote=${rest:0:1} ;;
    *) rest=${rest%% #*}; dotenv_val="${rest%"${rest##*[![:blank:]]}"}"; return 0 ;;
  esac
  n=${#rest}
  while [ "$i" -lt "$n" ]; do
    char=${rest:i:1}
    if [ "$char" = "\\" ] && [ $((i + 1)) -lt "$n" ]; then
      char=${rest:i+1:1}
      if [ "$quote" = "'" ]; then
        if [ "$char" = "'" ]; then out+="'"; else out+="\\$char"; fi
      else
        case "$char" in n) out+=$'\n' ;; r) out+=$'\r' ;; t) out+=$'\t' ;; \\|\") out+=$char ;; *) out+="\\$char" ;; esac
      fi
      i=$((i + 2))
      continue
    fi
    if [ "$char" = "$quote" ]; then dotenv_val=$out; return 0; fi
    out+=$char
    i=$((i + 1))
  done
  return 1
}

# dotenv_read FILE NAME: set dotenv_result to the value of the last line of FILE that sets NAME; return 1 (and
# set it to "") when FILE or such a line is missing.
dotenv_read() {
  local line found=1 dotenv_name dotenv_val
  dotenv_result=""
  [ -f "$1" ] || return 1
  while IFS= read -r line || [ -n "$line" ]; do
    if dotenv_parse "$line" && [ "$dotenv_name" = "$2" ]; then dotenv_result=$dotenv_val; found=0; fi
  done <"$1"
  # The last line wins, as for docker compose and a shell sourcing the file (init-secrets.sh only appends).
  return "$found"
}

# dotenv_value FILE NAME: print NAME's value (dotenv_read), never evaluated; returns 1 (printing nothing) when FILE
# or the line is missing.
dotenv_value() {
  local dotenv_result
  dotenv_read "$1" "$2" || return 1
  printf '%s\n' "$dotenv_result"
}

# dotenv_export FILE LABEL: export every variable FILE sets (dotenv_parse's reading, never evaluated; the last line
# of a name wins). Fails, naming LABEL and the line, on a name a shell cannot export.
dotenv_export() {
  local line dotenv_name dotenv_val
  while IFS= read -r line || [ -n "$line" ]; do
    dotenv_parse "$line" || continue
    case "$dotenv_name" in ''|[0-9]*|*[!A-Za-z0-9_]*) echo "$2: cannot read line '$dotenv_name=...'" >&2; return 1 ;; esac
    export "$dotenv_name=$dotenv_val"
  done <"$1"
}
