"""usage_report.py: spend, requests and tokens per developer, team or model, for scripts/usage-report.sh.

    python3 usage_report.py --source database|metrics [--by developer|team|model|key] [--since DAY] [--until DAY]
                            [--format table|csv|json] [--alias-contact TEXT]

Two sources:
- database: LiteLLM's daily spend tables (GET /user/daily/activity), for any period of whole UTC days, with
  prompt-cache read and creation tokens, and the budget left now (GET /key/list, /team/list). A developer is the
  user_id of their key; a team, their key's team. Spend lands there in batches: seconds to a minute late.
- metrics: the gateway's Prometheus counters (GET /metrics/) since it started, per model, per key, and per
  developer where the client sends one in the `x-litellm-end-user-id` header (client/env.sh does: the login name,
  or CLAUDE_GATEWAY_USER). Anyone can send any name there: it attributes, it does not authenticate.

GATEWAY_URL and GATEWAY_ADMIN_KEY come from the environment (the shell entry point sets them). Standard library.
Exit: 0 report printed; 1 the gateway refused or did not answer; 2 usage error.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import re
import sys
from collections import defaultdict
from typing import Any

from gateway_api import GatewayAPI, GatewayError, redact

MASTER_KEY_USER = "default_user_id"  # LiteLLM's user_id for requests made with the master key
COUNTERS = ("requests", "spend_usd", "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")
# LiteLLM's daily-table metric names for each counter.
DAILY_METRICS = {"requests": "api_requests", "spend_usd": "spend", "input_tokens": "prompt_tokens",
                 "output_tokens": "completion_tokens", "cache_read_tokens": "cache_read_input_tokens",
                 "cache_creation_tokens": "cache_creation_input_tokens"}
# LiteLLM's Prometheus counters for each counter (requests: the per-key request counter).
PROMETHEUS_METRICS = {"litellm_spend_metric_total": "spend_usd", "litellm_input_tokens_metric_total": "input_tokens",
                      "litellm_output_tokens_metric_total": "output_tokens",
                      "litellm_input_cached_tokens_metric_total": "cache_read_tokens",
                      "litellm_input_cache_creation_tokens_metric_total": "cache_creation_tokens",
                      "litellm_requests_metric_total": "requests"}
LINE = re.compile(r"^(\w+)\{(.*)\}\s+(\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _zero() -> dict[str, float]:
    return dict.fromkeys(COUNTERS, 0.0)


# ---------------------------------------------------------------------------------------------------------------
# Database source
# ---------------------------------------------------------------------------------------------------------------
def developer_name(user_id: str | None) -> str:
    if user_id == MASTER_KEY_USER:
        return "(master key)"
    return user_id or "(no developer)"


def from_daily_activity(results: list[dict], by: str) -> dict[str, dict[str, Any]]:
    """Rows per developer, team or model out of /user/daily/activity results (one per day, broken down by key
    and by model)."""
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {**_zero(), "team": None, "developers": set()})
    for day in results:
        breakdown = day.get("breakdown") or {}
        if by == "model":
            for model, entry in (breakdown.get("model_groups") or {}).items():
                _add(rows[model], entry.get("metrics") or {})
            continue
        for entry in (breakdown.get("api_keys") or {}).values():
            metadata = entry.get("metadata") or {}
            developer = developer_name(metadata.get("user_id"))
            team = metadata.get("team_id")
            name = developer if by == "developer" else (team or "(no team)")
            row = rows[name]
            _add(row, entry.get("metrics") or {})
            row["team"] = team
            row["developers"].add(developer)
    return rows


def _add(row: dict[str, Any], metrics: dict) -> None:
    for counter, metric in DAILY_METRICS.items():
        row[counter] += float(metrics.get(metric) or 0)


def budgets_left(by: str, keys: list[dict], teams: list[dict]) -> dict[str, float | None]:
    """The budget left now per developer (over their keys) or team; None: no budget set."""
    if by == "team":
        return {team.get("team_id"): _left(team) for team in teams}
    left: dict[str, float | None] = {}
    for key in keys:
        name = developer_name(key.get("user_id"))
        this = _left(key)
        if name in left and (left[name] is None or this is None):
            left[name] = None  # one key without a budget: no limit for this developer
        else:
            left[name] = (left.get(name) or 0.0) + this if this is not None else None
    return left


def _left(item: dict) -> float | None:
    if item.get("max_budget") is None:
        return None
    return max(0.0, float(item["max_budget"]) - float(item.get("spend") or 0))


# ---------------------------------------------------------------------------------------------------------------
# Prometheus source
# ---------------------------------------------------------------------------------------------------------------
def from_metrics(text: str, by: str, alias_contact: str) -> dict[str, dict[str, Any]]:
    """Rows per model, key (hash prefix and alias) or developer (the end-user id) from /metrics/ text."""
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {**_zero(), "team": None, "developers": set()})
    for line in text.splitlines():
        match = LINE.match(line.strip())
        if not match or match.group(1) not in PROMETHEUS_METRICS:
            continue
        labels = dict(LABEL.findall(match.group(2)))
        counter, value = PROMETHEUS_METRICS[match.group(1)], float(match.group(3))
        if by == "model":
            name = labels.get("model") or labels.get("requested_model") or "?"
        elif by == "key":
            hashed = labels.get("hashed_api_key") or ""
            if not hashed or hashed == "None":
                continue
            alias = (labels.get("api_key_alias") or "").split(alias_contact)[0] if alias_contact else ""
            name = hashed[:12] + ("  " + alias if alias not in ("", "None") else "")
        else:  # developer: the end-user id the client sent
            end_user = labels.get("end_user") or ""
            name = end_user if end_user not in ("", "None") else "(no end-user id sent)"
        rows[name][counter] += value
    return rows


# ---------------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------------
def records(rows: dict[str, dict[str, Any]], by: str, left: dict[str, float | None] | None) -> list[dict[str, Any]]:
    out = []
    for name, row in sorted(rows.items()):
        record: dict[str, Any] = {by: name}
        if by == "developer" and left is not None:
            record["team"] = row["team"]
        if by == "team":
            record["developers"] = len(row["developers"])
        record.update({counter: round(row[counter], 6) if counter == "spend_usd" else int(row[counter])
                       for counter in COUNTERS})
        if left is not None and by in ("developer", "team"):
            record["budget_left_usd"] = None if left.get(name) is None else round(left[name], 6)
        out.append(record)
    return out


def write(out, rows: list[dict[str, Any]], fmt: str, title: str) -> None:
    if fmt == "json":
        json.dump(rows, out, indent=2)
        out.write("\n")
        return
    if not rows:
        out.write(f"{title}: no requests recorded\n")
        return
    columns = list(rows[0])
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
        return
    cells = [[_cell(row[column], column) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    out.write(f"{title}\n")
    out.write("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(columns, widths))) + "\n")
    for line in cells:
        out.write("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))) + "\n")


def _cell(value: Any, column: str) -> str:
    if value is None:
        return "no limit" if column == "budget_left_usd" else "-"
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def _day(text: str) -> str:
    if not DAY.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} must be a day as YYYY-MM-DD (UTC)")
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day of the calendar") from None
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="usage-report.sh", description="Spend per developer, team or model.")
    parser.add_argument("--source", choices=("database", "metrics"), required=True)
    parser.add_argument("--by", choices=("developer", "team", "model", "key"))
    parser.add_argument("--since", type=_day)
    parser.add_argument("--until", type=_day)
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--alias-contact", default="")
    args = parser.parse_args(argv)
    try:
        if args.source == "metrics":
            if args.since or args.until:
                parser.error("--since/--until need the database: the metrics count since the gateway started")
            if args.by == "team":
                parser.error("--by team needs the database (teams are LiteLLM teams of virtual keys)")
            return _metrics_report(args)
        if args.by == "key":
            parser.error("--by key reads the metrics: add --source metrics")
        return _database_report(args, parser)
    except GatewayError as error:
        print(f"usage-report.sh: {redact(str(error))}", file=sys.stderr)
        return 1


def _metrics_report(args) -> int:
    text = GatewayAPI.from_environment().call("GET", "/metrics/", text=True)
    views = [args.by] if args.by else (["model", "key", "developer"] if args.format == "table" else ["developer"])
    for number, by in enumerate(views):
        rows = records(from_metrics(text, by, args.alias_contact), by, None)
        if by == "key" and not rows and number:
            continue
        if number:
            sys.stdout.write("\n")
        title = {"model": "per model", "key": "per key (hashed, developer)",
                 "developer": "per developer (x-litellm-end-user-id)"}[by] + ", since the gateway started"
        write(sys.stdout, rows, args.format, title)
    return 0


def _database_report(args, parser) -> int:
    today = datetime.datetime.now(datetime.timezone.utc).date()
    until = args.until or today.isoformat()
    since = args.since or (datetime.date.fromisoformat(until) - datetime.timedelta(days=6)).isoformat()
    if since > until:
        parser.error(f"--since {since} is after --until {until}")
    by = args.by or "developer"
    api = GatewayAPI.from_environment()
    rows = from_daily_activity(api.daily_activity("user", since, until), by)
    left = None
    if by in ("developer", "team"):
        left = budgets_left(by, api.keys() if by == "developer" else [], api.teams() if by == "team" else [])
    write(sys.stdout, records(rows, by, left), args.format, f"per {by}, {since} to {until} (UTC days)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
