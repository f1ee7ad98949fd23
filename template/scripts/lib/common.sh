# shellcheck shell=bash
# common.sh: what the scripts under scripts/ and gateway/ share. Sourced, not run; defines functions only.
#   script_help FILE           print FILE's header comment (its --help)
#   answer_help ARGS...        print the running script's header and exit 0 when ARGS start with -h or --help
#   report_ok|report_fail|report_skip TEXT
#                              one check result: "ok    TEXT", "FAIL  TEXT", "skip  TEXT" (each script keeps
#                              its own policy: counting, stopping at the first failure)
#   curl_config NAME VALUE     one line of a curl config for `curl --config -`
#   curl_bearer TOKEN          the Authorization header line for TOKEN, as curl config
#   dotenv_value FILE NAME     the value of NAME in a .env file (gateway/.env)
#   dotenv_unquote VALUE       VALUE without one pair of surrounding quotes, as docker compose reads it
#   need_tools TOOL...         exit 1 with one line naming the first TOOL not in PATH
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

# dotenv_unquote VALUE: VALUE without one pair of surrounding double or single quotes (and a trailing CR).
dotenv_unquote() {
  local value=${1%$'\r'}
  case "$value" in \"*\") value=${value#\"}; value=${value%\"} ;; \'*\') value=${value#\'}; value=${value%\'} ;; esac
  printf '%s\n' "$value"
}

# dotenv_value FILE NAME: print the value of the last `NAME=value` (or `export NAME=value`) line of FILE, unquoted,
# never evaluated; commented lines (`# NAME=...`) do not count. Returns 1 (printing nothing) when FILE or the line is missing.
dotenv_value() {
  local line found=1 value=""
  [ -f "$1" ] || return 1
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line#export }
    case "$line" in "$2="*) value=${line#*=}; found=0 ;; esac
  done <"$1"
  # The last line wins, as for docker compose and a shell sourcing the file (init-secrets.sh only appends).
  [ "$found" -eq 0 ] && dotenv_unquote "$value"
}
