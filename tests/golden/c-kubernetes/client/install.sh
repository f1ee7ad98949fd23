#!/usr/bin/env bash
# install.sh: put this setup's Claude Code settings into your user settings, reversibly.
#
# Merges the keys this template owns (every key of client/settings.json; its `env` entries one by one) into
# ~/.claude/settings.json (or $CLAUDE_CONFIG_DIR/settings.json) and removes variables that conflict with this
# setup. Every other key stays as it is. Before writing it saves a timestamped backup next to the file, and
# it records what it changed in settings.installed-by-template.json beside it, so that --undo takes back
# exactly those keys (restoring what was there before, as it was) and keeps every change you made since.
# Running it twice changes nothing the second time.
#
# Files: settings, record, backups and temporary files are written mode 600 (they can hold your keys); a
# settings folder it creates is mode 700, an existing one keeps its mode. Writes are atomic. A settings.json
# that is a symlink stays one: the file it points to is written. A settings file you made read-only is refused.
#
# Usage:  client/install.sh [--dry-run]            install (--dry-run: print the diff, write nothing)
#         client/install.sh --undo [--dry-run]     take back what install set
# Exit:   0  done, or nothing to do
#         1  failed, nothing was changed (one line on stderr says why and what to do): HOME unset with no
#            CLAUDE_CONFIG_DIR; python3 missing or older than 3.8; a settings file that is not a strict JSON
#            object (NaN, Infinity, a lone surrogate, nesting deeper than 64 levels);
#            a read-only settings file or folder; a folder it cannot create or write in
#         2  usage error
set -eu

mode=install
dry_run=0
for arg in "$@"; do
  case "$arg" in
    --undo) mode=undo ;;
    --dry-run) dry_run=1 ;;
    -h|--help) awk 'NR == 1 { next } !/^#/ { exit } { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;  # the header above
    *) echo "usage: $0 [--undo] [--dry-run]" >&2; exit 2 ;;
  esac
done

command -v python3 >/dev/null 2>&1 || { echo "install.sh: python3 is needed for the JSON work; install it" >&2; exit 1; }
python3 -c 'import sys; sys.exit(sys.version_info < (3, 8))' 2>/dev/null \
  || { echo "install.sh: python3 3.8 or newer is needed for the JSON work; install it" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${CLAUDE_CONFIG_DIR:-}" ]; then
  settings_dir=$CLAUDE_CONFIG_DIR
elif [ -n "${HOME:-}" ]; then
  settings_dir=$HOME/.claude
else
  echo "install.sh: HOME is not set, so ~/.claude cannot be found;" \
    "set HOME, or CLAUDE_CONFIG_DIR to the folder of your settings.json; nothing was changed" >&2
  exit 1
fi
# Variables that must not be in the settings for this setup (removed on install, put back on --undo).
conflicting='["CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_USE_FOUNDRY", "NODE_TLS_REJECT_UNAUTHORIZED"]'

# The JSON work (merge, undo, diff, backup, record file) is in settings_merge.py beside this script.
if [ ! -f "$here/settings_merge.py" ]; then
  echo "install.sh: $here/settings_merge.py is missing; nothing was changed" >&2
  exit 1
fi
exec python3 "$here/settings_merge.py" "$mode" "$dry_run" "$settings_dir" "$here/settings.json" "$conflicting"
