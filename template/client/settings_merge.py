"""The JSON work of client/install.sh: merge client/settings.json into Claude Code's user settings, reversibly.

Run by install.sh (its command line is the user interface; see there):

    python3 settings_merge.py MODE DRY_RUN SETTINGS_DIR SOURCE CONFLICTING [MACHINE_ENV]

MODE is `install` or `undo`; DRY_RUN is `1` (print the diff, write nothing) or `0`; SETTINGS_DIR holds
settings.json (~/.claude or $CLAUDE_CONFIG_DIR); SOURCE is this setup's client/settings.json; CONFLICTING is a
JSON list of variable names that must not be in the settings `env` for this setup; MACHINE_ENV (optional) is a JSON
object of `env` entries install.sh computed for this user on this machine (usage telemetry's developer name),
owned like SOURCE's own.

The keys this setup owns are every top-level key of SOURCE except `$schema`, and each `env` entry one by one
("env.NAME"). Install sets them and removes the conflicting variables; what it changed, and what was there
before (as the JSON value it was, of whatever type), goes into settings.installed-by-template.json beside
settings.json. Undo takes back exactly those keys (restoring the earlier values) unless the user changed them
since; an `env` that install had to replace (it was not an object) or that was an empty object comes back as it
was. Exit: 0 done or nothing to do; 1 failed, nothing written; 2 wrong arguments.

JSON is strict both ways: a file holding a number that is not finite (NaN, Infinity, or one too large for a
double, such as 1e999), a lone surrogate (\ud800), or objects and lists nested deeper than MAX_DEPTH is refused in
one line before anything is written. Files are read and written as they are (no newline translation). The first
install notes the settings file's exact text (or that there was none) in the record: an undo whose result equals
it as JSON (nothing else changed in between) gives back that text byte for byte, an empty file included; a file
install created is removed again.

Files: the settings, the record, the backups and the temporary files can all hold copied values (a key, a proxy
URL with its password), so each is created mode 600. A settings folder this creates is mode 700; an existing one
keeps its mode (it is the user's, and other tools keep files there: the 600 files are what protect the values).
Writes are atomic (a temporary file in the same folder, fsync, rename) and go through symlinks: a settings.json
that is a link stays a link and the file it points to is written. A file without its owner's write bit, or a
folder without it, is refused before anything is written, also when running as root (the mode bits are checked,
not only what the system would allow).

Python 3.8+ standard library only: this runs on developer machines. The pure functions (`plan`, `install`,
`undo`, `diff_text`) do no file I/O; `main` reads, backs up and writes.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import os
import stat
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

PROG = "install.sh"  # messages carry the name of the command the user ran
SETTINGS_FILE = "settings.json"
RECORD_FILE = "settings.installed-by-template.json"
USAGE = "usage: settings_merge.py install|undo 0|1 SETTINGS_DIR SOURCE CONFLICTING_JSON_LIST [MACHINE_ENV_JSON]"
MAX_DEPTH = 64  # nesting of objects and lists: Claude Code's settings use 3; deeper input is refused


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


def same(a: Any, b: Any) -> bool:
    """Equal as JSON, types included (Python's == has True == 1 == 1.0)."""
    if a is ABSENT or b is ABSENT:
        return a is b
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def put(data: dict, key: str, value: Any) -> None:
    section, _, name = key.rpartition(".")
    if section:
        if not isinstance(data.get(section), dict):
            data[section] = {}
        data[section][name] = value
    else:
        data[name] = value


def drop(data: dict, key: str, keep_section: bool = False) -> None:
    """Remove `key`; an `env` (section) left empty goes too, unless `keep_section`."""
    section, _, name = key.rpartition(".")
    node = data.get(section) if section else data
    if isinstance(node, dict):
        node.pop(name, None)
        if section and not node and not keep_section:
            data.pop(section)


def dump(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def json_problem(data: Any) -> str:
    """What makes `data` (as json.loads gives it) unfit to be written back as strict UTF-8 JSON, "" if nothing:
    a non-finite number, a lone surrogate in a key or a string, nesting deeper than MAX_DEPTH. Iterative: any
    depth is safe to check."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return "holds a number that is not finite (NaN, Infinity, or too large, such as 1e999); use a finite number"
        strings = [node] if isinstance(node, str) else list(node) if isinstance(node, dict) else []
        for text in strings:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return "holds a lone surrogate (such as \\ud800), which is not text; remove it"
        if isinstance(node, (dict, list)):
            if depth > MAX_DEPTH:
                return f"nests objects or lists deeper than {MAX_DEPTH} levels"
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return ""


def parse(text: str) -> Any:
    """Strict JSON: `text` parsed, or ValueError with one line saying why (json's own reasons included)."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError(f"nests objects or lists deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:
        raise ValueError(f"is not valid JSON ({error})") from None
    problem = json_problem(data)
    if problem:
        raise ValueError(problem)
    return data


def new_record(record: dict, settings_text: str, existed: bool | None = None) -> dict:
    """The install record as loaded (`{}` if there was none), completed: `keys` maps each owned key to
    {"had_previous", "previous", "value", "removed"}; `created_settings_file` says whether the first install
    found no settings file (then undo removes the file rather than leave `{}` behind); `original_text` is the
    settings file's exact text then (None: there was none; absent in records of older releases). `sections`,
    only while needed, maps a section ("env") that was there but not a non-empty object to {"previous": what it
    was}. `existed`: whether the settings file is there (default: whether `settings_text` is not empty)."""
    existed = bool(settings_text) if existed is None else existed
    fresh = "keys" not in record
    record = copy.deepcopy(record)
    record.setdefault("keys", {})
    record.setdefault("created_settings_file", not existed)
    if fresh:
        record["original_text"] = settings_text if existed else None
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


def _section(key: str) -> str:
    return key.rpartition(".")[0]


def _note_section(settings: dict, record: dict, key: str) -> None:
    """Before install puts `key` into its section: remember a section that is there but is not a non-empty object
    (`"env": "x"`, `"env": []`, `"env": {}`), so that undo gives it back as it was rather than drop or empty it."""
    section = _section(key)
    if not section or section in record.get("sections", {}):
        return
    node = settings.get(section, ABSENT)
    if node is ABSENT or (isinstance(node, dict) and node):
        return
    record.setdefault("sections", {})[section] = {"previous": copy.deepcopy(node)}  # put() fills an empty {}


def _take_back(settings: dict, record: dict, key: str, report: list[str]) -> None:
    entry = record["keys"].pop(key)
    ours = ABSENT if entry["removed"] else entry["value"]
    if not same(get(settings, key), ours):
        report.append(f"kept      {key} (changed since install)")
        return
    if entry["had_previous"]:
        put(settings, key, entry["previous"])
        report.append(f"restored  {key}")
    else:
        drop(settings, key, keep_section=_section(key) in record.get("sections", {}))
        report.append(f"removed   {key}")


def _restore_sections(settings: dict, record: dict, report: list[str]) -> None:
    """Give back each noted section none of whose keys is owned any more, if it is left as an empty object."""
    sections = record.get("sections", {})
    for section in list(sections):
        if any(_section(key) == section for key in record["keys"]):
            continue
        previous = sections.pop(section)["previous"]
        if same(settings.get(section, ABSENT), {}):
            settings[section] = previous  # in place: the key keeps its position in the file
            if not same(previous, {}):
                report.append(f"restored  {section}")
        elif not isinstance(previous, dict):
            report.append(f"kept      {section} (changed since install; it was {json.dumps(previous)})")
    if not sections:
        record.pop("sections", None)


def install(settings: dict, record: dict, source: dict, conflicting: list[str]) -> list[str]:
    """Merge `source` into `settings` and note it in `record` (a `new_record`), both in place; the report lines.
    Keys owned by an earlier install that `source` no longer has are taken back first."""
    owned = record["keys"]
    report: list[str] = []
    wanted = wanted_keys(source, conflicting)
    for key in [k for k in owned if k not in wanted]:
        _take_back(settings, record, key, report)
    for key, value in wanted.items():
        have = get(settings, key)
        if key not in owned:
            if value is ABSENT and have is ABSENT:
                continue
            owned[key] = {"had_previous": have is not ABSENT, "previous": None if have is ABSENT else have}
        owned[key].update(value=None if value is ABSENT else value, removed=value is ABSENT)
        if same(have, value):
            continue
        if value is ABSENT:
            drop(settings, key, keep_section=_section(key) in record.get("sections", {}))
            report.append(f"removed   {key} (conflicts with this setup)")
        else:
            _note_section(settings, record, key)
            put(settings, key, value)
            report.append(f"set       {key}")
    _restore_sections(settings, record, report)
    return report


def undo(settings: dict, record: dict) -> list[str]:
    """Take back every key in `record` (restore, remove, or keep if the user changed it since), in place."""
    report: list[str] = []
    for key in list(record["keys"]):
        _take_back(settings, record, key, report)
    _restore_sections(settings, record, report)
    return report


def _parsed_or_absent(text: str) -> Any:
    """`text` as JSON (an empty text is `{}`), ABSENT if it is not strict JSON (a record edited by hand)."""
    try:
        return parse(text) if text.strip() else {}
    except ValueError:
        return ABSENT


@dataclass
class Plan:
    """What a run changes. `text` is the new settings file (equal to the old text: nothing to write)."""

    settings: dict
    record: dict
    report: list[str]
    text: str
    remove_file: bool  # undo of an install that created the file: delete it (`text` is "")


def plan(mode: str, settings_text: str, current: dict, record: dict, source: dict | None = None,
         conflicting: tuple[str, ...] = (), existed: bool | None = None) -> Plan:
    """The outcome of `mode` ("install" needs `source`) on settings `current` read from `settings_text` ("" if
    absent) with the loaded `record`; `existed`: whether the settings file is there (default: whether
    `settings_text` is not empty). The arguments are left alone."""
    existed = bool(settings_text) if existed is None else existed
    record = new_record(record, settings_text, existed)
    original = record.pop("original_text", None) if mode == "undo" else record.get("original_text")
    updated = copy.deepcopy(current)
    if mode == "install":
        if source is None:
            raise ValueError("install needs the source settings")
        report = install(updated, record, source, list(conflicting))
    else:
        report = undo(updated, record)
    text = settings_text if same(updated, current) else dump(updated)
    remove_file = False
    if mode == "undo" and not record["keys"]:
        if isinstance(original, str) and same(updated, _parsed_or_absent(original)):
            text = original  # nothing else changed since the first install: its text, byte for byte
        elif not updated and record["created_settings_file"] and existed and settings_text:
            remove_file, text = True, ""  # install created the file: remove it rather than leave `{}` behind
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
        with open(path, encoding="utf-8", newline="") as f:  # as it is: CRLF stays CRLF
            text = f.read()
    except (FileNotFoundError, NotADirectoryError):  # the latter: a parent is a file (the writes will say so)
        return default, ""
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise Failure(f"cannot read {path} ({reason}); check that it is a file you can read") from None
    try:
        data = parse(text) if text.strip() else {}
    except ValueError as error:
        raise Failure(f"{path} {error}; fix it first") from None
    if not isinstance(data, dict):
        raise Failure(f"{path} does not hold a JSON object")
    return data, text


def resolve(path: str) -> str:
    """Where a write to `path` goes: the file a symlink points to (so the link stays a link), else `path`."""
    return os.path.realpath(path) if os.path.islink(path) else path


def refuse_read_only(path: str, what: str) -> None:
    """A Failure if `path` (a file, or a folder when `what` says so) is there without its owner's write bit or
    cannot be written by this user. The bit is checked itself: root may write anything, and would otherwise
    silently replace a file the user made read-only."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as error:
        raise Failure(f"cannot check {path} ({error.strerror})") from None
    flags = os.W_OK | os.X_OK if stat.S_ISDIR(mode) else os.W_OK
    if not mode & stat.S_IWUSR or not os.access(path, flags):
        raise Failure(f"{path} is read-only ({what}); make it writable (chmod u+w {path}) to let install.sh "
                      "change it, or leave it as it is")


def make_folder(folder: str) -> bool:
    """Create `folder` (mode 700, its missing parents as the umask says) unless it is there; True if created."""
    if os.path.isdir(folder):
        return False
    if os.path.lexists(folder):
        raise Failure(f"{folder} is not a folder; move it away, or set CLAUDE_CONFIG_DIR to a folder")
    try:
        os.makedirs(folder, mode=0o700)
        os.chmod(folder, 0o700)  # exactly 700, whatever the umask
    except OSError as error:
        raise Failure(f"cannot create the folder {folder} ({error.strerror}); create it yourself, or set "
                      "CLAUDE_CONFIG_DIR to a folder you can write to") from None
    return True


def backup_path(settings_path: str, stamp: str) -> str:
    """A free name for the backup; bounded: two runs within one second get distinct names."""
    backup = f"{settings_path}.backup-{stamp}"
    for n in range(1, 100):
        if not os.path.lexists(backup):
            break
        backup = f"{settings_path}.backup-{stamp}-{n}"
    return backup


def _write_fd(fd: int, text: str) -> None:
    os.fchmod(fd, 0o600)  # exactly 600, whatever the umask
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def write_new(path: str, text: str) -> None:
    """Create `path` (which must not exist, not even as a link) mode 600 with `text`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        _write_fd(fd, text)
    except BaseException:
        os.remove(path)
        raise


def stage(path: str, text: str) -> str:
    """`text` in a new temporary file (mode 600) in `path`'s folder, synced to disk: renamed onto `path` later."""
    folder, name = os.path.split(path)
    fd, tmp = tempfile.mkstemp(dir=folder or ".", prefix=f".{name}.", suffix=".tmp")
    try:
        _write_fd(fd, text)
    except BaseException:
        os.remove(tmp)
        raise
    return tmp


def sync_folder(folder: str) -> None:
    """Make a rename in `folder` durable; best effort (not every system can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass
class Writes:
    """What a run writes: the settings text (None: leave it; "" with `remove`: delete the file), its backup, and
    the record text (None: leave it; "": delete it)."""

    settings_dir: str
    settings_path: str
    settings_text: str | None
    remove_settings: bool
    backup_text: str
    record_path: str
    record_text: str | None


def commit(w: Writes) -> str | None:
    """Do `w`: everything is checked and staged first, so a refusal or a failure changes nothing; then renames.
    Returns the backup's path (None: no backup)."""
    settings_target, record_target = resolve(w.settings_path), resolve(w.record_path)
    if w.settings_text is not None:
        refuse_read_only(settings_target, "the settings file")
    if w.record_text is not None:
        refuse_read_only(record_target, "the record of what install.sh changed")
    folders = dict.fromkeys([w.settings_dir, os.path.dirname(settings_target), os.path.dirname(record_target)])
    for folder in folders:
        refuse_read_only(folder, "a folder install.sh writes in")
    created = make_folder(w.settings_dir)
    made: list[str] = []  # files written so far: removed again if a later step fails
    backup = None
    try:
        for folder in folders:
            if not os.path.isdir(folder):
                raise Failure(f"the folder {folder} is missing; create it, or fix the link that points into it")
        if w.settings_text is not None and w.backup_text:
            backup = backup_path(w.settings_path, time.strftime("%Y%m%d-%H%M%S"))
            write_new(backup, w.backup_text)
            made.append(backup)
        settings_tmp = record_tmp = None
        if w.settings_text is not None and not w.remove_settings:
            settings_tmp = stage(settings_target, w.settings_text)
            made.append(settings_tmp)
        if w.record_text:
            record_tmp = stage(record_target, w.record_text)
            made.append(record_tmp)
    except (Failure, OSError, ValueError) as error:  # ValueError: text that is not UTF-8 (checked on load too)
        for path in made:
            try:
                os.remove(path)
            except OSError:
                pass
        if created:
            try:
                os.rmdir(w.settings_dir)
            except OSError:
                pass
        if isinstance(error, Failure):
            raise
        if not isinstance(error, OSError):
            raise Failure(f"cannot write {w.settings_path} as UTF-8 JSON ({error})") from None
        where = os.path.dirname(error.filename) if isinstance(error.filename, str) else w.settings_dir
        raise Failure(f"cannot write in {where} ({error.strerror}); make sure it is a folder you can write to, "
                      "or set CLAUDE_CONFIG_DIR to one") from None
    # Renames within one folder: atomic, Claude Code never sees a half-written file.
    if settings_tmp:
        os.replace(settings_tmp, settings_target)
    elif w.remove_settings:
        os.remove(settings_target)
    if record_tmp:
        os.replace(record_tmp, record_target)
    elif w.record_text == "" and os.path.lexists(record_target):
        os.remove(record_target)
    for folder in folders:
        sync_folder(folder)
    return backup


def record_text(record: dict) -> str:
    """The record file's text; "" when nothing is owned any more (the file goes)."""
    return json.dumps(record, indent=2, allow_nan=False) + "\n" if record["keys"] else ""


def run(mode: str, dry_run: bool, settings_dir: str, source_path: str, conflicting: list[str],
        machine_env: dict[str, str] | None = None) -> None:
    settings_path = os.path.join(settings_dir, SETTINGS_FILE)
    record_path = os.path.join(settings_dir, RECORD_FILE)
    current, original_text = load(settings_path, {})
    existed = os.path.isfile(settings_path)
    record, old_record_text = load(record_path, {})
    source = None
    if mode == "install":
        source, _ = load(source_path, None)
        if source is None:
            raise Failure(f"{source_path} is missing")
        if machine_env:
            if not isinstance(source.get("env", {}), dict):
                raise Failure(f"{source_path}: its env is not an object")
            source = {**source, "env": {**source.get("env", {}), **machine_env}}
    result = plan(mode, original_text, current, record, source, tuple(conflicting), existed)
    if dry_run:
        print(diff_text(original_text, result.text, settings_path) or f"{settings_path}: nothing to change")
        print("dry run: nothing was written")
        return
    changed = result.text != original_text or result.remove_file
    new_record_text = record_text(result.record)
    writes = Writes(settings_dir, settings_path, result.text if changed else None, result.remove_file,
                    original_text, record_path, None if new_record_text == old_record_text else new_record_text)
    if not changed and writes.record_text is None:
        print(f"{settings_path}: already up to date, nothing to change")
        return
    backup = commit(writes)
    if backup:
        print(f"backup:   {backup}")
    if changed:
        print("\n".join(result.report))
        print(f"{settings_path}: {'installed' if mode == 'install' else 'undone'}")
    else:
        print(f"{settings_path}: already up to date, nothing to change")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (5, 6) or args[0] not in ("install", "undo") or args[1] not in ("0", "1"):
        print(USAGE, file=sys.stderr)
        return 2
    mode, dry_run, settings_dir, source_path, conflicting = args[:5]
    machine_env = json.loads(args[5]) if len(args) == 6 and args[5] else {}
    if not isinstance(machine_env, dict) or not all(isinstance(v, str) for v in machine_env.values()):
        print(USAGE, file=sys.stderr)
        return 2
    try:
        run(mode, dry_run == "1", settings_dir, source_path, json.loads(conflicting), machine_env)
    except Failure as failure:
        print(f"{PROG}: {failure}; nothing was changed", file=sys.stderr)
        return 1
    except OSError as error:  # after the checks and staging: a rename or removal failed (one line, no traceback)
        print(f"{PROG}: {error.filename}: {error.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
