"""access.py: gateway/access.yaml, the reviewed list of who may use the gateway, applied through LiteLLM's admin API.

    python3 access.py sync ACCESS_FILE --models JSON --alias-suffix TEXT [--dry-run] [--prune] [--print-keys]
                                       [--keys-dir DIR]
    python3 access.py new-key DEVELOPER --models JSON --alias-suffix TEXT [--budget USD]
    python3 access.py sample --models JSON          (a starting access.yaml, on stdout)

Called by scripts/sync-access.sh and scripts/new-key.sh, which pass GATEWAY_URL and GATEWAY_ADMIN_KEY in the
environment. Standard library plus PyYAML (for reading access.yaml only).

What the sync does: each team becomes a LiteLLM team (team_id = its name); each developer one virtual key
(user_id = their name, key_alias = name + who to ask for budget) in their team. What it creates carries
metadata.managed_by, so it updates and (with --prune) removes only what it created: keys made by new-key.sh or
the admin UI are reported, never touched. A new key is shown once: written to DIR/<developer>.key (mode 600, in a
mode-700 folder; an existing file is never overwritten) or, with --print-keys, printed on stdout.

Exit: 0 done (or nothing to do); 1 the gateway refused or did not answer (what was done before is listed);
      2 access.yaml or the arguments are invalid (one line per problem; nothing was changed)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway_api import GatewayAPI, GatewayError, redact

MANAGED_BY = "gateway/access.yaml"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
NAME_RULE = "1 to 64 letters, digits and . _ @ -, starting with a letter or digit"
PERIODS = {"daily": "1d", "weekly": "7d", "monthly": "1mo"}
DURATION = re.compile(r"[1-9][0-9]{0,3}(h|d|w|mo)")
PERIOD_RULE = "daily, weekly, monthly, or a LiteLLM duration such as 30d, 2w, 1mo, 12h"
TEAM_FIELDS = ("budget", "rpm_limit", "tpm_limit", "models")
DEVELOPER_FIELDS = ("team",) + TEAM_FIELDS
# The LiteLLM fields a team or key carries from access.yaml; compared to decide what a sync updates.
SYNCED = ("max_budget", "budget_duration", "rpm_limit", "tpm_limit", "models")


class AccessFileError(Exception):
    """access.yaml is invalid; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Entry:
    """One team or developer as access.yaml says, in LiteLLM's terms."""
    name: str
    max_budget: float | None = None
    budget_duration: str | None = None
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    models: list[str] = field(default_factory=list)  # empty: every model the gateway (or the team) has
    team: str | None = None

    def litellm_fields(self) -> dict[str, Any]:
        return {"max_budget": self.max_budget, "budget_duration": self.budget_duration,
                "rpm_limit": self.rpm_limit, "tpm_limit": self.tpm_limit, "models": sorted(self.models)}


@dataclass
class Access:
    teams: dict[str, Entry]
    developers: dict[str, Entry]


# ---------------------------------------------------------------------------------------------------------------
# Reading and checking access.yaml
# ---------------------------------------------------------------------------------------------------------------
def _yaml_loader():
    try:
        import yaml
    except ImportError:
        raise AccessFileError([("access.py: needs PyYAML to read access.yaml: pip install pyyaml "
                                "(or apt-get install python3-yaml)")]) from None

    class UniqueKeyLoader(yaml.SafeLoader):
        """SafeLoader that refuses a name given twice (plain YAML keeps the last one, silently)."""

    def mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is given twice", key_node.start_mark)
            seen.add(key)
        return loader.construct_mapping(node, deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return yaml, UniqueKeyLoader


def load(path: Path, gateway_models: list[str]) -> Access:
    """access.yaml, checked; AccessFileError lists every problem, one line each, naming the entry."""
    yaml, loader = _yaml_loader()
    where = str(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # a SafeLoader
    except OSError as error:
        raise AccessFileError([f"{where}: cannot be read ({error.strerror})"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark else ""
        raise AccessFileError([f"{where}{at}: not valid YAML: {getattr(error, 'problem', None) or error}"]) from None
    return parse(data if data is not None else {}, gateway_models, where)


def parse(data: Any, gateway_models: list[str], where: str = "access.yaml") -> Access:
    problems: list[str] = []

    def problem(entry: str, text: str) -> None:
        problems.append(f"{where}: {entry}: {text}")

    if not isinstance(data, dict):
        raise AccessFileError([f"{where}: must be a mapping with `teams:` and `developers:`, not {_kind(data)}"])
    for unknown in sorted(set(map(str, data)) - {"teams", "developers"}):
        problem(unknown, "unknown section; access.yaml has `teams:` and `developers:`")
    sections = {}
    for section in ("teams", "developers"):
        value = data.get(section)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            problem(section, f"must be a mapping of names to settings, not {_kind(value)}")
            value = {}
        sections[section] = value
    teams = {}
    for name, settings in sections["teams"].items():
        entry = _entry("teams", name, settings, TEAM_FIELDS, gateway_models, problem)
        if entry:
            teams[entry.name] = entry
    developers = {}
    for name, settings in sections["developers"].items():
        entry = _entry("developers", name, settings, DEVELOPER_FIELDS, gateway_models, problem)
        if not entry:
            continue
        label = f"developers.{entry.name}"
        if entry.team is not None and entry.team not in teams:
            if str(entry.team) not in map(str, sections["teams"]):
                problem(label + ".team", f"{entry.team!r} is not one of the teams in this file "
                        f"({', '.join(sorted(teams)) or 'none'})")
        elif entry.team is not None and teams[entry.team].models and entry.models:
            outside = sorted(set(entry.models) - set(teams[entry.team].models))
            if outside:
                problem(label + ".models", f"{', '.join(outside)} not allowed to team {entry.team} "
                        f"({', '.join(teams[entry.team].models)})")
        developers[entry.name] = entry
    if problems:
        raise AccessFileError(problems)
    return Access(teams, developers)


def _entry(section: str, name: Any, settings: Any, allowed: tuple[str, ...], gateway_models: list[str],
           problem) -> Entry | None:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        problem(f"{section}.{name!s}"[:100], f"the name {str(name)[:80]!r} must be {NAME_RULE}")
        return None
    label = f"{section}.{name}"
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        problem(label, f"must be a mapping of settings ({', '.join(allowed)}), not {_kind(settings)}")
        return None
    entry = Entry(name)
    for key, value in settings.items():
        if key not in allowed:
            problem(f"{label}.{key}", f"unknown setting; a {section[:-1]} has {', '.join(allowed)}")
        elif key == "budget":
            _budget(entry, label + ".budget", value, problem)
        elif key in ("rpm_limit", "tpm_limit"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                problem(f"{label}.{key}", f"{value!r} must be a whole number of "
                        f"{'requests' if key == 'rpm_limit' else 'tokens'} per minute, 1 or more")
            else:
                setattr(entry, key, value)
        elif key == "models":
            if not isinstance(value, list) or not all(isinstance(model, str) for model in value):
                problem(f"{label}.models", f"{value!r} must be a list of model names")
                continue
            unknown = [model for model in value if model not in gateway_models]
            if unknown:
                problem(f"{label}.models", f"{', '.join(map(repr, unknown))} not a model of this gateway "
                        f"({', '.join(gateway_models)})")
            entry.models = sorted(set(value))
        elif key == "team":
            if not isinstance(value, str):
                problem(f"{label}.team", f"{value!r} must be the name of a team")
            else:
                entry.team = value
    return entry


def _budget(entry: Entry, label: str, value: Any, problem) -> None:
    if not isinstance(value, dict):
        problem(label, f"{value!r} must be a mapping like {{usd: 50, period: monthly}}")
        return
    for key in sorted(set(map(str, value)) - {"usd", "period"}):
        problem(f"{label}.{key}", "unknown setting; a budget has usd and period")
    usd = value.get("usd")
    if isinstance(usd, bool) or not isinstance(usd, (int, float)) or not math.isfinite(usd) or usd <= 0:
        problem(f"{label}.usd", f"{usd!r} must be a positive number of US dollars, e.g. 50")
    else:
        entry.max_budget = float(usd)
    period = value.get("period")
    if period is None:
        return  # a budget that never resets
    duration = PERIODS.get(period, period) if isinstance(period, str) else None
    if duration is None or not DURATION.fullmatch(duration):
        problem(f"{label}.period", f"{period!r} must be {PERIOD_RULE}")
    else:
        entry.budget_duration = duration


def _kind(value: Any) -> str:
    return {list: "a list", str: "a text", int: "a number", float: "a number", bool: "yes/no"}.get(
        type(value), type(value).__name__)


# ---------------------------------------------------------------------------------------------------------------
# The plan: what a sync changes on the gateway
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Change:
    action: str  # create-team, update-team, delete-team, create-key, update-key, delete-key, only-on-server
    what: str  # "team platform", "developer alice"
    detail: str = ""
    body: dict = field(default_factory=dict)  # the admin API body

    def line(self) -> str:
        verb = {"create-team": "create", "update-team": "update", "delete-team": "delete", "create-key": "create",
                "update-key": "update", "delete-key": "delete", "only-on-server": "only on the server:"}[self.action]
        return f"{verb} {self.what}{'  ' + self.detail if self.detail else ''}"


def _managed(item: dict) -> bool:
    return isinstance(item.get("metadata"), dict) and item["metadata"].get("managed_by") == MANAGED_BY


def _current(item: dict) -> dict[str, Any]:
    fields = {name: item.get(name) for name in SYNCED}
    fields["models"] = sorted(fields["models"] or [])
    if fields["max_budget"] is not None:
        fields["max_budget"] = float(fields["max_budget"])
    return fields


def _differences(want: dict, have: dict) -> dict[str, Any]:
    return {name: value for name, value in want.items() if have.get(name) != value}


def _describe(changed: dict[str, Any], have: dict[str, Any]) -> str:
    return ", ".join(f"{name} {_shown(have.get(name))} -> {_shown(value)}" for name, value in changed.items())


def _settings(want: dict[str, Any]) -> str:
    """The settings a new team or key gets, those that are not LiteLLM's defaults."""
    return ", ".join(f"{name} {_shown(value)}" for name, value in want.items()
                     if value not in (None, []) and name != "key_alias")


def _shown(value: Any) -> str:
    if value is None or value == []:
        return "none" if value is None else "all"
    return ",".join(value) if isinstance(value, list) else str(value)


def plan(access: Access, server_teams: list[dict], server_keys: list[dict], alias_suffix: str,
         prune: bool) -> list[Change]:
    changes: list[Change] = []
    teams_by_id = {team.get("team_id"): team for team in server_teams}
    for name, team in sorted(access.teams.items()):
        want = team.litellm_fields()
        have = teams_by_id.get(name)
        if have is None:
            changes.append(Change("create-team", f"team {name}", _settings(want),
                                  {"team_id": name, "team_alias": name, **want, "metadata": {"managed_by": MANAGED_BY}}))
        elif not _managed(have):
            changes.append(Change("only-on-server", f"team {name}",
                                  "exists but was not created from access.yaml; left alone (rename one of them)"))
        else:
            changed = _differences(want, _current(have))
            if changed:
                changes.append(Change("update-team", f"team {name}", _describe(changed, _current(have)),
                                      {"team_id": name, **changed}))
    managed_keys: dict[str, list[dict]] = {}
    for key in server_keys:
        if _managed(key):
            managed_keys.setdefault(key.get("user_id") or "", []).append(key)
    for name, developer in sorted(access.developers.items()):
        want = {"team_id": developer.team, **developer.litellm_fields(), "key_alias": name + alias_suffix}
        have_keys = managed_keys.pop(name, [])
        if not have_keys:
            changes.append(Change("create-key", f"developer {name}", _settings(want),
                                  {"user_id": name, **want, "metadata": {"managed_by": MANAGED_BY}}))
            continue
        for have in have_keys:
            current = {**_current(have), "team_id": have.get("team_id"), "key_alias": have.get("key_alias")}
            changed = _differences(want, current)
            if changed:
                changes.append(Change("update-key", f"developer {name}", _describe(changed, current),
                                      {"key": have["token"], **changed}))
    for name, keys in sorted(managed_keys.items()):
        for key in keys:
            if prune:
                changes.append(Change("delete-key", f"developer {name}", f"key …{_tail(key)}",
                                      {"keys": [key["token"]]}))
            else:
                changes.append(Change("only-on-server", f"developer {name}",
                                      f"key …{_tail(key)}, no longer in access.yaml (--prune removes it)"))
    for team in sorted(server_teams, key=lambda t: str(t.get("team_id"))):
        name = team.get("team_id")
        if name in access.teams or not _managed(team):
            continue
        others = [key for key in server_keys if key.get("team_id") == name and not _managed(key)]
        if prune and others:  # LiteLLM deletes a team's keys with the team
            changes.append(Change("only-on-server", f"team {name}", f"no longer in access.yaml, but it holds "
                                  f"{len(others)} key(s) not created from it; not deleted (deleting a team deletes "
                                  "its keys)"))
        elif prune:
            changes.append(Change("delete-team", f"team {name}", "", {"team_ids": [name]}))
        else:
            changes.append(Change("only-on-server", f"team {name}", "no longer in access.yaml (--prune removes it)"))
    unmanaged = [key for key in server_keys if not _managed(key)]
    if unmanaged:
        names = sorted({str(key.get("user_id") or key.get("key_alias") or "?") for key in unmanaged})
        changes.append(Change("only-on-server", f"{len(unmanaged)} other key(s)",
                              f"({', '.join(names)[:200]}): made by new-key.sh or the admin UI; never touched"))
    return changes


def _tail(key: dict) -> str:
    """The last 4 characters LiteLLM shows of a key (`key_name` is `sk-...abcd`), else of its hash."""
    return str(key.get("key_name") or key.get("token") or "")[-4:]


# ---------------------------------------------------------------------------------------------------------------
# Applying it
# ---------------------------------------------------------------------------------------------------------------
ENDPOINTS = {"create-team": "/team/new", "update-team": "/team/update", "delete-team": "/team/delete",
             "create-key": "/key/generate", "update-key": "/key/update", "delete-key": "/key/delete"}
ORDER = ["create-team", "update-team", "create-key", "update-key", "delete-key", "delete-team", "only-on-server"]


class KeyDelivery:
    """Where a new key goes: DIR/<developer>.key (600, folder 700, never overwritten), or stdout."""

    def __init__(self, keys_dir: Path | None):
        self.keys_dir = keys_dir

    def path(self, developer: str) -> Path | None:
        return None if self.keys_dir is None else self.keys_dir / f"{developer}.key"

    def check(self, developer: str) -> str | None:
        path = self.path(developer)
        if path is not None and (path.exists() or path.is_symlink()):
            return f"{path} already exists (a key not handed over yet?); hand it over and delete it first"
        return None

    def deliver(self, developer: str, key: str) -> str:
        path = self.path(developer)
        if path is None:
            print(f"{developer}\t{key}", flush=True)
            return "key printed above"
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(key + "\n")
        return f"key in {path}"


def apply(changes: list[Change], api: GatewayAPI, delivery: KeyDelivery, say=print) -> None:
    for change in sorted(changes, key=lambda c: ORDER.index(c.action)):
        if change.action == "only-on-server":
            say(change.line())
            continue
        developer = change.body.get("user_id", "")
        if change.action == "create-key" and (refusal := delivery.check(developer)):
            say(f"skipped {change.what}  {refusal}")
            continue
        answer = api.call("POST", ENDPOINTS[change.action], change.body)
        note = ""
        if change.action == "create-key":
            note = "  " + delivery.deliver(developer, answer["key"])
        say(change.line() + note)


# ---------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------
SAMPLE = """\
# gateway/access.yaml: who may use this gateway, with which budget, rate limits and models. Yours: reviewed and
# committed like code; scripts/sync-access.sh applies it (--dry-run shows the plan) and never writes to it.
# Template updates and pattern migrations never touch it. No key ever goes in this file.
#
# teams:                           a LiteLLM team each (its budget and limits cover all its developers' keys)
#   <name>:
#     budget: {usd: 500, period: monthly}   period: daily, weekly, monthly or a duration (30d, 2w, 1mo, 12h);
#                                           without a period the budget never resets
#     rpm_limit: 600                requests per minute, all keys of the team together
#     tpm_limit: 2000000            tokens per minute
#     models: [...]                 default: every model of the gateway
# developers:                      one virtual key each, in their team
#   <name>:                        letters, digits and . _ @ - (their login or email address)
#     team: <team>
#     budget: {usd: 50, period: monthly}
#     rpm_limit: 60
#     models: [...]                 default: every model of their team
#
# Models of this gateway: MODELS

teams: {}
#  platform:
#    budget: {usd: 500, period: monthly}

developers: {}
#  alice:
#    team: platform
#    budget: {usd: 50, period: monthly}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="access.py", description="Apply gateway/access.yaml (see the header).")
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser("sync")
    sync.add_argument("access_file", type=Path)
    sync.add_argument("--dry-run", action="store_true")
    sync.add_argument("--prune", action="store_true")
    sync.add_argument("--print-keys", action="store_true")
    sync.add_argument("--keys-dir", type=Path)
    new_key = commands.add_parser("new-key")
    new_key.add_argument("developer")
    new_key.add_argument("--budget", type=float)
    sample = commands.add_parser("sample")
    for command in (sync, new_key, sample):
        command.add_argument("--models", required=True, help="the gateway's model names, as a JSON list")
    for command in (sync, new_key):
        command.add_argument("--alias-suffix", required=True)
    args = parser.parse_args(argv)
    models = json.loads(args.models)
    if args.command == "sample":
        sys.stdout.write(SAMPLE.replace("MODELS", ", ".join(models)))
        return 0
    try:
        if args.command == "new-key":
            return _new_key(args, models)
        return _sync(args, models)
    except AccessFileError as error:
        for line in error.problems:
            print(line, file=sys.stderr)
        print("nothing was changed", file=sys.stderr)
        return 2
    except GatewayError as error:
        print(f"{parser.prog}: {redact(str(error))}", file=sys.stderr)
        return 1


def _sync(args, models: list[str]) -> int:
    access = load(args.access_file, models)
    api = GatewayAPI.from_environment()
    changes = plan(access, api.teams(), api.keys(), args.alias_suffix, args.prune)
    work = [c for c in changes if c.action != "only-on-server"]
    print(f"{len(access.teams)} team(s), {len(access.developers)} developer(s) in {args.access_file}; "
          f"{len(work)} change(s){' (dry run: nothing is changed)' if args.dry_run else ''}")
    if args.dry_run:
        for change in sorted(changes, key=lambda c: ORDER.index(c.action)):
            print("would " + change.line() if change.action != "only-on-server" else change.line())
        return 0
    delivery = KeyDelivery(None if args.print_keys else args.keys_dir)
    try:
        apply(changes, api, delivery)
    except GatewayError as error:
        print(f"sync stopped: {redact(str(error))}; the changes listed above were made, run again to finish",
              file=sys.stderr)
        return 1
    if not work:
        print("nothing to do: the gateway matches access.yaml")
    return 0


def _new_key(args, models: list[str]) -> int:
    if not NAME.fullmatch(args.developer):
        print(f"new-key.sh: developer {args.developer[:80]!r} must be {NAME_RULE}", file=sys.stderr)
        return 2
    if args.budget is not None and not (math.isfinite(args.budget) and args.budget > 0):
        print(f"new-key.sh: --budget {args.budget!r} must be a positive number of US dollars, e.g. 50",
              file=sys.stderr)
        return 2
    body = {"key_alias": args.developer + args.alias_suffix, "user_id": args.developer, "models": models}
    if args.budget is not None:
        body["max_budget"] = args.budget
    answer = GatewayAPI.from_environment().call("POST", "/key/generate", body)
    print(answer["key"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
