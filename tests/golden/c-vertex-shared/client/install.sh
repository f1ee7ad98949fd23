#!/usr/bin/env bash
# install.sh: put this setup's Claude Code settings into your user settings, reversibly.
#
# Merges the keys this template owns (every key of client/settings.json; its `env` entries one by one) into
# ~/.claude/settings.json (or $CLAUDE_CONFIG_DIR/settings.json) and removes variables that conflict with this
# setup. Every other key stays as it is. Before writing it saves a timestamped backup next to the file, and
# it records what it changed in settings.installed-by-template.json beside it, so that --undo takes back
# exactly those keys (restoring what was there before) and keeps every change you made since.
# Running it twice changes nothing the second time.
#
# Usage:  client/install.sh [--dry-run]            install (--dry-run: print the diff, write nothing)
#         client/install.sh --undo [--dry-run]     take back what install set
# Exit:   0 done or nothing to do; 1 failed, nothing written; 2 usage error
set -eu

mode=install
dry_run=0
for arg in "$@"; do
  case "$arg" in
    --undo) mode=undo ;;
    --dry-run) dry_run=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--undo] [--dry-run]" >&2; exit 2 ;;
  esac
done

command -v python3 >/dev/null 2>&1 || { echo "install.sh: python3 is needed for the JSON work; install it" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
settings_dir="${CLAUDE_CONFIG_DIR:-$HOME/.claude}"
# Variables that must not be in the settings for this setup (removed on install, put back on --undo).
conflicting='["CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX", "CLAUDE_CODE_USE_FOUNDRY", "NODE_TLS_REJECT_UNAUTHORIZED"]'

exec python3 - "$mode" "$dry_run" "$settings_dir" "$here/settings.json" "$conflicting" <<'PY'
import copy, datetime, difflib, json, os, sys, tempfile

mode, dry_run, settings_dir, source_path, conflicting = sys.argv[1:]
settings_path = os.path.join(settings_dir, "settings.json")
state_path = os.path.join(settings_dir, "settings.installed-by-template.json")
ABSENT = object()


def fail(message):
    print(f"install.sh: {message}; nothing was changed", file=sys.stderr)
    sys.exit(1)


def load(path, default):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return default, ""
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as error:
        fail(f"{path} is not valid JSON ({error}); fix it first")
    if not isinstance(data, dict):
        fail(f"{path} does not hold a JSON object")
    return data, text


def get(data, key):
    section, _, name = key.rpartition(".")
    node = data.get(section, {}) if section else data
    return node.get(name, ABSENT) if isinstance(node, dict) else ABSENT


def put(data, key, value):
    section, _, name = key.rpartition(".")
    if section:
        if not isinstance(data.get(section), dict):
            data[section] = {}
        data[section][name] = value
    else:
        data[name] = value


def drop(data, key):
    section, _, name = key.rpartition(".")
    node = data.get(section) if section else data
    if isinstance(node, dict):
        node.pop(name, None)
        if section and not node:
            data.pop(section)


def dump(data):
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


current, original_text = load(settings_path, {})
state, _ = load(state_path, {})
owned = state.setdefault("keys", {})  # key -> {"value", "removed", "had_previous", "previous"}
state.setdefault("created_settings_file", not original_text)
updated = copy.deepcopy(current)
report = []


def take_back(key):
    record = owned.pop(key)
    ours = ABSENT if record["removed"] else record["value"]
    if get(updated, key) != ours:
        report.append(f"kept      {key} (changed since install)")
        return
    if record["had_previous"]:
        put(updated, key, record["previous"])
        report.append(f"restored  {key}")
    else:
        drop(updated, key)
        report.append(f"removed   {key}")


if mode == "install":
    source, _ = load(source_path, None)
    if source is None:
        fail(f"{source_path} is missing")
    wanted = {}
    for top, value in source.items():
        if top == "$schema":
            continue
        if top == "env":
            wanted.update({f"env.{name}": v for name, v in value.items()})
        else:
            wanted[top] = value
    for name in json.loads(conflicting):
        wanted.setdefault(f"env.{name}", ABSENT)
    for key in [k for k in owned if k not in wanted]:  # owned by an earlier version of this setup
        take_back(key)
    for key, value in wanted.items():
        have = get(updated, key)
        if key not in owned:
            if value is ABSENT and have is ABSENT:
                continue
            owned[key] = {"had_previous": have is not ABSENT, "previous": None if have is ABSENT else have}
        owned[key].update(value=None if value is ABSENT else value, removed=value is ABSENT)
        if have == value:
            continue
        if value is ABSENT:
            drop(updated, key)
            report.append(f"removed   {key} (conflicts with this setup)")
        else:
            put(updated, key, value)
            report.append(f"set       {key}")
else:
    for key in list(owned):
        take_back(key)

new_text = original_text if updated == current else dump(updated)
# Undo of an install that created the file: remove it again rather than leave an empty object behind.
remove_file = mode == "undo" and not updated and state["created_settings_file"] and bool(original_text)
if remove_file:
    new_text = ""
diff = "".join(difflib.unified_diff(original_text.splitlines(True), new_text.splitlines(True),
                                    settings_path + " (before)", settings_path + " (after)"))
if dry_run == "1":
    print(diff or f"{settings_path}: nothing to change")
    print("dry run: nothing was written")
    sys.exit(0)
if new_text == original_text:
    print(f"{settings_path}: already up to date, nothing to change")
else:
    os.makedirs(settings_dir, exist_ok=True)
    if original_text:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = f"{settings_path}.backup-{stamp}"
        for n in range(1, 100):  # bounded: two runs within one second get distinct names
            if not os.path.exists(backup):
                break
            backup = f"{settings_path}.backup-{stamp}-{n}"
        with open(backup, "w", encoding="utf-8") as f:
            f.write(original_text)
        print(f"backup:   {backup}")
    if remove_file:
        os.remove(settings_path)
    else:
        fd, tmp = tempfile.mkstemp(dir=settings_dir, prefix=".settings.json.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(new_text)
        os.replace(tmp, settings_path)  # atomic: Claude Code never sees a half-written file
    print("\n".join(report))
    print(f"{settings_path}: {'installed' if mode == 'install' else 'undone'}")
if owned:
    with open(state_path, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=2)
        f.write("\n")
elif os.path.exists(state_path):
    os.remove(state_path)
PY
