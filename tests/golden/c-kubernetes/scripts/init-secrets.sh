#!/usr/bin/env bash
# init-secrets.sh: create gateway/.env with the gateway's generated secrets, once.
#
# Writes a random master key (sk-...), a salt key, and lists
# (commented) the provider credentials you must fill in. A value that is already set is never overwritten, so
# running it again is safe, and the salt key (which must never change) survives. gateway/.env is gitignored and
# is not a template file: no `copier update` can change or delete it.
#
# It only ever appends to gateway/.env: no line of yours is changed, moved or removed, and it first copies the
# file to gateway/.env.bak.<time> (mode 600). A key counts as set when its last `KEY=value` line (also
# `export KEY=value`, `KEY = value`, quoted, CRLF) has a value. An empty `KEY=` line stays and the generated
# value is appended after it: the last line wins for docker compose and gateway/run-local.sh; delete the empty
# line (it warns) for scripts/health-check.sh, which reads the first. A new gateway/.env gets mode 600; an
# existing one keeps its mode (it warns if others can read it). A symlinked gateway/.env stays a link: the file
# it points at is appended to. It refuses, changing nothing, a gateway/.env that is not a regular file (or a link
# to a missing one), holds a NUL byte, or is read-only (no write bit: refused even for root), and a gateway/ it
# cannot write to.
#
# Usage:  scripts/init-secrets.sh
# Exit:   0 done (or nothing to add)
#         1 cannot run: a needed tool or /dev/urandom is missing, or a write failed (the message names the backup)
#         2 usage error
#         3 refused: gateway/.env or gateway/ cannot be read or written safely; nothing was changed
set -eu
umask 077
LC_ALL=C  # gateway/.env is read byte by byte: a Latin-1 byte is kept as it is, never a reason to rewrite
export LC_ALL

case "$0" in */*) scripts_dir=${0%/*} ;; *) scripts_dir=. ;; esac
# shellcheck source=lib/common.sh
. "$scripts_dir/lib/common.sh"
answer_help "$@"
[ "$#" -eq 0 ] || { echo "usage: $0   (no arguments)" >&2; exit 2; }

fail() { echo "init-secrets.sh: $1" >&2; exit 1; }
refuse() { echo "init-secrets.sh: $1; nothing changed" >&2; exit 3; }

for tool in od tr cat cmp date find chmod tail; do
  command -v "$tool" >/dev/null 2>&1 || fail "needs '$tool' (not found in PATH); nothing changed"
done
[ -r /dev/urandom ] || fail "needs /dev/urandom for random keys; nothing changed"

here=$(cd "$scripts_dir/.." && pwd)
gwdir="$here/gateway"
envfile="$gwdir/.env"
local_config="$gwdir/litellm_config.local.yaml"
[ -d "$gwdir" ] || refuse "gateway/ is missing"

# random_hex BYTES: BYTES random bytes from the kernel's CSPRNG as hex; fails (printing nothing) on short output.
random_hex() {
  local hex
  hex=$(od -An -tx1 -N "$1" /dev/urandom | tr -d ' \n') || hex=""
  case "$hex" in ''|*[!0-9a-f]*) return 1 ;; esac
  [ -n "${hex:$(($1 * 2 - 1))}" ] && [ -z "${hex:$(($1 * 2))}" ] || return 1  # exactly 2*BYTES digits
  printf '%s\n' "$hex"
}

# trim TEXT: sets $trimmed to TEXT without a trailing CR and without leading and trailing blanks.
trim() {
  trimmed=${1%$'\r'}
  trimmed=${trimmed#"${trimmed%%[![:space:]]*}"}
  trimmed=${trimmed%"${trimmed##*[![:space:]]}"}
}

# assigned LINE KEY: LINE sets KEY (`KEY=v`, `export KEY=v`, `KEY = v`); sets $value to v, unquoted.
assigned() {
  local rest
  case "$1" in *"$2"*=*) ;; *) return 1 ;; esac
  trim "$1"; rest=$trimmed
  case "$rest" in export[[:space:]]*) trim "${rest#export}"; rest=$trimmed ;; esac
  trim "${rest%%=*}"; [ "$trimmed" = "$2" ] || return 1
  trim "${rest#*=}"; value=$trimmed
  case "$value" in
    '#'*) value="" ;;  # `KEY= # comment`: empty
    \"*\") value=${value#\"}; value=${value%\"} ;;
    \'*\') value=${value#\'}; value=${value%\'} ;;
  esac
}

# value_of KEY: sets $value to what gateway/.env gives KEY (its last assignment); fails when no line assigns it.
value_of() {
  local line last found=1
  [ -f "$envfile" ] || return 1
  while IFS= read -r line || [ -n "$line" ]; do
    if assigned "$line" "$1"; then found=0; last=$value; fi
  done <"$envfile"
  [ "$found" -eq 0 ] || return 1
  value=$last
}

# has KEY: gateway/.env gives KEY a non-empty value.
has() { value_of "$1" && [ -n "$value" ]; }

# mentions KEY: some line assigns KEY, commented (`# KEY=`) or not, with or without a value.
mentions() {
  local line
  [ -f "$envfile" ] || return 1
  while IFS= read -r line || [ -n "$line" ]; do
    trim "$line"; line=$trimmed
    case "$line" in '#'*) line=${line#'#'} ;; esac
    if assigned "$line" "$1"; then return 0; fi
  done <"$envfile"
  return 1
}

# writable_mode FILE: FILE has a write bit; a read-only file is refused even by root (who could write it).
writable_mode() { [ -n "$(find -L "$1" -prune \( -perm -u=w -o -perm -g=w -o -perm -o=w \) -print)" ]; }

# --- look at gateway/.env; nothing is written before every check has passed --------------------------------
if [ -L "$envfile" ] && [ ! -e "$envfile" ]; then
  refuse "gateway/.env is a symlink to a missing file"
fi
existing=0
if [ -e "$envfile" ]; then
  existing=1
  [ -f "$envfile" ] || refuse "gateway/.env is not a regular file"
  [ -r "$envfile" ] || refuse "gateway/.env is not readable"
  if IFS= read -r -d '' _ <"$envfile"; then
    refuse "gateway/.env holds a NUL byte (a binary file?); fix or move it, then run again"
  fi
fi

# --- what to append -----------------------------------------------------------------------------------------
nl=$'\n'
if [ "$existing" -eq 1 ] && IFS= read -r first_line <"$envfile" && [ "${first_line%$'\r'}" != "$first_line" ]; then
  nl=$'\r\n'  # a CRLF file gets CRLF lines
fi
pending=""
added=""
emptied=""
# add KEY VALUE: append KEY=VALUE unless gateway/.env gives KEY a value; either way $value is then KEY's value.
add() {
  if has "$1"; then return 0; fi
  if value_of "$1"; then emptied="$emptied $1"; fi  # an empty `KEY=` line: kept; the appended line wins
  pending="$pending$1=$2$nl"
  added="$added $1"
  value=$2
}
# add_random KEY BYTES [PREFIX]: add KEY with PREFIX + BYTES random bytes in hex, unless set.
add_random() {
  local hex
  if has "$1"; then return 0; fi
  hex=$(random_hex "$2") || fail "could not read random bytes from /dev/urandom; nothing changed"
  add "$1" "${3:-}$hex"
}

add_random LITELLM_MASTER_KEY 24 sk-
add_random LITELLM_SALT_KEY 24 sk-

# Provider credentials: listed for you to fill in; never generated, never overwritten.
if ! mentions DATABASE_URL; then
  pending="$pending$(printf '# %s%s# %s=' 'Postgres for virtual keys and spend, as the pods reach it (e.g. a managed database; add ?sslmode=require for TLS).' "$nl" DATABASE_URL)$nl"
fi
if ! mentions REDIS_URL; then
  pending="$pending$(printf '# %s%s# %s=' 'Redis shared by the replicas (e.g. a managed Redis; rediss:// for TLS).' "$nl" REDIS_URL)$nl"
fi
if ! mentions ANTHROPIC_API_KEY; then
  pending="$pending$(printf '# %s%s# %s=' 'Anthropic API key the gateway calls upstream with.' "$nl" ANTHROPIC_API_KEY)$nl"
fi

# --- may we write? -------------------------------------------------------------------------------------------
if [ -n "$pending" ] || [ ! -f "$local_config" ]; then
  [ -w "$gwdir" ] || refuse "cannot write to gateway/ (permissions)"
fi
if [ -n "$pending" ] && [ "$existing" -eq 1 ]; then
  { [ -w "$envfile" ] && writable_mode "$envfile"; } || refuse "gateway/.env is read-only; make it writable (chmod u+w)"
fi

# --- write ------------------------------------------------------------------------------------------------
if [ -n "$pending" ]; then
  if [ "$existing" -eq 1 ]; then
    stamp=$(date +%Y%m%d-%H%M%S)
    backup="$gwdir/.env.bak.$stamp"
    if [ -e "$backup" ] || [ -L "$backup" ]; then backup="$backup.$$"; fi
    if ! (set -C; cat "$envfile" 2>/dev/null >"$backup") || ! chmod 600 "$backup" \
      || ! cmp -s "$envfile" "$backup"; then
      refuse "could not back up gateway/.env to gateway/${backup##*/}"
    fi
    # The new lines start on a line of their own, also when the file does not end with a newline.
    if [ -s "$envfile" ] && [ -n "$(tail -c 1 "$envfile")" ]; then pending="$nl$pending"; fi
    printf '%s' "$pending" 2>/dev/null >>"$envfile" \
      || fail "appending to gateway/.env failed; your file before this run is gateway/${backup##*/}"
    echo "gateway/.env: backed up to gateway/${backup##*/}"
  else
    { (set -C; printf '# gateway/.env: secrets of the LiteLLM gateway. Never commit it (gitignored). See gateway/.env.example.\n%s' \
        "$pending" 2>/dev/null >"$envfile") && chmod 600 "$envfile"; } || fail "could not create gateway/.env"
  fi
fi
if [ "$existing" -eq 1 ] && [ -n "$(find -L "$envfile" -prune \( -perm -g=r -o -perm -o=r \) -print)" ]; then
  echo "init-secrets.sh: warning: others can read gateway/.env; run: chmod 600 gateway/.env" >&2
fi

# The home of your own LiteLLM settings, included by gateway/litellm_config.yaml. Not a template file: yours to
# edit and commit; no copier update or migration changes or deletes it.
if [ ! -f "$local_config" ]; then
  cat >"$local_config" <<'YAML'
# Your own LiteLLM settings (this file is yours: commit it; no copier update or migration touches it).
# gateway/litellm_config.yaml includes it: model_list entries here are added to the generated ones; any other
# top-level key (router_settings, litellm_settings, ...) replaces the generated one wholesale.
model_list: []
YAML
  echo "gateway/litellm_config.local.yaml: created for your own LiteLLM settings (commit it)"
fi

if [ -n "$emptied" ]; then
  echo "init-secrets.sh: warning: delete the empty line(s) of$emptied in gateway/.env (kept; the added values come after them, but scripts/health-check.sh reads the first line)" >&2
fi
if [ -n "$added" ]; then
  echo "gateway/.env: added$added"
elif [ -n "$pending" ]; then
  echo "gateway/.env: listed provider credentials to fill in; all generated secrets were already set"
else
  echo "gateway/.env: all generated secrets already set; nothing changed"
fi
missing=""
has DATABASE_URL || missing="$missing DATABASE_URL"
has REDIS_URL || missing="$missing REDIS_URL"
has ANTHROPIC_API_KEY || missing="$missing ANTHROPIC_API_KEY"
if [ -n "$missing" ]; then
  echo "fill in gateway/.env:$missing (see gateway/.env.example)"
fi
