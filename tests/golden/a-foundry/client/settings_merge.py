"""The JSON work of client/install.sh: merge client/settings.json into Claude Code's user settings, reversibly.

Run by install.sh (its command line is the user interface; see there):

    python3 settings_merge.py MODE DRY_RUN SETTINGS_DIR SOURCE CONFLICTING

MODE is `install` or `undo`; DRY_RUN is `1` (print the diff, write nothing) or `0`; SETTINGS_DIR holds
settings.json (~/.claude or $CLAUDE_CONFIG_DIR); SOURCE is this setup's client/settings.json; CONFLICTING is a
JSON list of variable names that must not be in the settings `env` for this setup.

The keys this setup owns are every top-level key of SOURCE except `$schema`, and each `env` entry one by one
("env.NAME"). Install sets them and removes the conflicting variables; what it changed, and what was there
before, goes into settings.installed-by-template.json beside settings.json. Undo takes back exactly those keys
(restoring the earlier values) unless the user changed them since. Exit: 0 done or nothing to do; 1 failed,
nothing written; 2 wrong arguments.

Python 3.8+ standard library only: this runs on developer machines. The pure functions (`plan`, `install`,
`undo`, `diff_text`) do no file I/O; `main` reads, backs up and writes.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

PROG = "install.sh"  # messages carry the name of the command the user ran
SETTINGS_FILE = "settings.json"
RECORD_FILE = "settings.installed-by-template.json"
USAGE = "usage: settings_merge.py install|undo 0|1 SETTINGS_DIR SOURCE CONFLICTING_JSON_LIST"


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()  # "no such key": a value that compares unequal to every JSON value


class Failure(Exception):
    """A problem the user has to fix; nothing was written."""


# -------------------------------------------------------------------------------------------------------------
# Pure functions: dotted keys ("model", "env.NAME"), the merge for install and undo, the diff
# -------------------------------------------------------------------------------------------------------------
def get(data: dict, key: str) -> Any:
    section, _, name = key.rpartition(".")
    node = data.get(section, {}) if section else data
    return node.get(name, ABSENT) if isinstance(node, dict) else ABSENT


def put(data: dict, key: str, value: Any) -> None:
    section, _, name = key.rpartition(".")
    if section:
        if not isinstance(data.get(section), dict):
            data[section] = {}
        data[section][name] = value
    else:
        data[name] = value


def drop(data: dict, key: str) -> None:
    """Remove `key`; an `env` (section) left empty goes too."""
    section, _, name = key.rpartition(".")
    node = data.get(section) if section else data
    if isinstance(node, dict):
        node.pop(name, None)
        if section and not node:
            data.pop(section)


def dump(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def new_record(record: dict, settings_text: str) -> dict:
    """The install record as loaded (`{}` if there was none), completed: `keys` maps each owned key to
    {"had_previous", "previous", "value", "removed"}; `created_settings_file` says whether the first install
    found no settings (then undo removes the file rather than leave `{}` behind)."""
    record = copy.deepcopy(record)
    record.setdefault("keys", {})
    record.setdefault("created_settings_file", not settings_text)
    return record


def wanted_keys(source: dict, conflicting: list[str]) -> dict[str, Any]:
    """key -> the value this setup wants there, or ABSENT for a conflicting variable."""
    wanted: dict[str, Any] = {}
    for top, value in source.items():
        if top == "$schema":
            continue
        if top == "env":
            wanted.update({f"env.{name}": v for name, v in value.items()})
        else:
            wanted[top] = value
    for name in conflicting:
        wanted.setdefault(f"env.{name}", ABSENT)
    return wanted


def _take_back(settings: dict, owned: dict, key: str, report: list[str]) -> None:
    record = owned.pop(key)
    ours = ABSENT if record["removed"] else record["value"]
    if get(settings, key) != ours:
        report.append(f"kept      {key} (changed since install)")
        return
    if record["had_previous"]:
        put(settings, key, record["previous"])
        report.append(f"restored  {key}")
    else:
        drop(settings, key)
        report.append(f"removed   {key}")


def install(settings: dict, record: dict, source: dict, conflicting: list[str]) -> list[str]:
    """Merge `source` into `settings` and note it in `record` (a `new_record`), both in place; the report lines.
    Keys owned by an earlier install that `source` no longer has are taken back first."""
    owned = record["keys"]
    report: list[str] = []
    wanted = wanted_keys(source, conflicting)
    for key in [k for k in owned if k not in wanted]:
        _take_back(settings, owned, key, report)
    for key, value in wanted.items():
        have = get(settings, key)
        if key not in owned:
            if value is ABSENT and have is ABSENT:
                continue
            owned[key] = {"had_previous": have is not ABSENT, "previous": None if have is ABSENT else have}
        owned[key].update(value=None if value is ABSENT else value, removed=value is ABSENT)
        if have == value:
            continue
        if value is ABSENT:
            drop(settings, key)
            report.append(f"removed   {key} (conflicts with this setup)")
        else:
            put(settings, key, value)
            report.append(f"set       {key}")
    return report


def undo(settings: dict, record: dict) -> list[str]:
    """Take back every key in `record` (restore, remove, or keep if the user changed it since), in place."""
    owned = record["keys"]
    report: list[str] = []
    for key in list(owned):
        _take_back(settings, owned, key, report)
    return report


@dataclass
class Plan:
    """What a run changes. `text` is the new settings file (equal to the old text: nothing to write)."""

    settings: dict
    record: dict
    report: list[str]
    text: str
    remove_file: bool  # undo of an install that created the file: delete it (`text` is "")


def plan(mode: str, settings_text: str, current: dict, record: dict, source: dict | None = None,
         conflicting: tuple[str, ...] = ()) -> Plan:
    """The outcome of `mode` ("install" needs `source`) on settings `current` read from `settings_text` ("" if
    absent) with the loaded `record`; the arguments are left alone."""
    record = new_record(record, settings_text)
    updated = copy.deepcopy(current)
    if mode == "install":
        if source is None:
            raise ValueError("install needs the source settings")
        report = install(updated, record, source, list(conflicting))
    else:
        report = undo(updated, record)
    text = settings_text if updated == current else dump(updated)
    # Undo of an install that created the file: remove it again rather than leave an empty object behind.
    remove_file = mode == "undo" and not updated and record["created_settings_file"] and bool(settings_text)
    if remove_file:
        text = ""
    return Plan(updated, record, report, text, remove_file)


def diff_text(before: str, after: str, settings_path: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                        settings_path + " (before)", settings_path + " (after)"))


# -------------------------------------------------------------------------------------------------------------
# File I/O and the command line
# -------------------------------------------------------------------------------------------------------------
def load(path: str, default: Any) -> tuple[Any, str]:
    """(the JSON object in `path`, its text); (`default`, "") if there is no file; an empty file is `{}`."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return default, ""
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as error:
        raise Failure(f"{path} is not valid JSON ({error}); fix it first") from None
    if not isinstance(data, dict):
        raise Failure(f"{path} does not hold a JSON object")
    return data, text


def backup_path(settings_path: str, stamp: str) -> str:
    """A free name for the backup; bounded: two runs within one second get distinct names."""
    backup = f"{settings_path}.backup-{stamp}"
    for n in range(1, 100):
        if not os.path.exists(backup):
            break
        backup = f"{settings_path}.backup-{stamp}-{n}"
    return backup


def write_settings(settings_dir: str, settings_path: str, original_text: str, result: Plan) -> None:
    os.makedirs(settings_dir, exist_ok=True)
    if original_text:
        backup = backup_path(settings_path, time.strftime("%Y%m%d-%H%M%S"))
        with open(backup, "w", encoding="utf-8") as f:
            f.write(original_text)
        print(f"backup:   {backup}")
    if result.remove_file:
        os.remove(settings_path)
    else:
        fd, tmp = tempfile.mkstemp(dir=settings_dir, prefix=".settings.json.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(result.text)
        os.replace(tmp, settings_path)  # atomic: Claude Code never sees a half-written file


def write_record(record_path: str, record: dict) -> None:
    if record["keys"]:
        with open(record_path, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2)
            f.write("\n")
    elif os.path.exists(record_path):
        os.remove(record_path)


def run(mode: str, dry_run: bool, settings_dir: str, source_path: str, conflicting: list[str]) -> None:
    settings_path = os.path.join(settings_dir, SETTINGS_FILE)
    record_path = os.path.join(settings_dir, RECORD_FILE)
    current, original_text = load(settings_path, {})
    record, _ = load(record_path, {})
    source = None
    if mode == "install":
        source, _ = load(source_path, None)
        if source is None:
            raise Failure(f"{source_path} is missing")
    result = plan(mode, original_text, current, record, source, tuple(conflicting))
    if dry_run:
        print(diff_text(original_text, result.text, settings_path) or f"{settings_path}: nothing to change")
        print("dry run: nothing was written")
        return
    if result.text == original_text:
        print(f"{settings_path}: already up to date, nothing to change")
    else:
        write_settings(settings_dir, settings_path, original_text, result)
        print("\n".join(result.report))
        print(f"{settings_path}: {'installed' if mode == 'install' else 'undone'}")
    write_record(record_path, result.record)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 5 or args[0] not in ("install", "undo") or args[1] not in ("0", "1"):
        print(USAGE, file=sys.stderr)
        return 2
    mode, dry_run, settings_dir, source_path, conflicting = args
    try:
        run(mode, dry_run == "1", settings_dir, source_path, json.loads(conflicting))
    except Failure as failure:
        print(f"{PROG}: {failure}; nothing was changed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
