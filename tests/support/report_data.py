"""TEST SUPPORT: what each source of scripts/usage-report.sh answers, for the HTML report's tests, in the shapes the
pinned versions answer (cited per source), with a developer whose name is HTML and script, and a model id with
markup characters. A loopback server (RecordedAPI) serves them.

- LiteLLM's spend database: GET /user/daily/activity answers SpendAnalyticsPaginatedResponse (litellm 1.108.14,
  litellm/types/proxy/management_endpoints/common_daily_activity.py: results[] of {date, metrics, breakdown
  {model_groups, api_keys {hash: {metrics, metadata {user_id, team_id, key_alias}}}}}, metadata {total_pages}); GET
  /key/list {keys, total_pages}; GET /team/list [team]. tests/test_live_access.py runs the same report against the
  real gateway.
- LiteLLM's Prometheus counters: GET /metrics/ text, the series litellm/integrations/prometheus.py defines (labels as
  the generated config's end-user tracking gives them).
- The Claude apps gateway: GET /v1/organizations/analytics/cost answers {data: [{starting_at, ending_at, group
  {actor {user_id}, rbac_group_id}, cost {currency, amount}}], has_more, next_page} (the 2.1.332 binary's handler:
  one bucket per day with time_bucket_width=1d); GET /v1/organizations/spend_limits/effective {data, has_more}.
- Claude Code's telemetry: OTLP points turned into the collector's Prometheus series (otlp_translation.py), served
  by prometheus_fake.py.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit

HOSTILE = "<img src=http://127.0.0.1:9/x onerror=alert(1)><script>document.title='pwned'</script>"
ODD_MODEL = "claude-opus-5-5<b>&amp;</b>"
DAYS = ("2026-11-01", "2026-11-02", "2026-11-03")
OPUS, HAIKU = "claude-opus-5-5", "claude-haiku-5-5"


def _metrics(spend: float, requests: int, prompt: int, completion: int, cache_read: int, cache_creation: int) -> dict:
    return {"spend": spend, "prompt_tokens": prompt, "completion_tokens": completion,
            "cache_read_input_tokens": cache_read, "cache_creation_input_tokens": cache_creation,
            "total_tokens": prompt + completion, "successful_requests": requests, "failed_requests": 0,
            "api_requests": requests}


def _key(user: str, team: str | None, *figures) -> dict:
    return {"metrics": _metrics(*figures), "metadata": {"key_alias": None, "team_id": team, "user_id": user}}


# Per day: (developer, team, model, spend, requests, prompt (cache included), completion, cache read, cache creation)
LITELLM_USAGE = {
    "2026-11-01": [("alice", "platform", OPUS, 1.5, 3, 3000, 400, 2000, 200),
                   ("bob", "platform", HAIKU, 0.25, 2, 900, 100, 0, 300)],
    "2026-11-02": [("alice", "platform", OPUS, 2.0, 4, 4000, 600, 3000, 0),
                   (HOSTILE, "mobile", ODD_MODEL, 0.75, 1, 1000, 50, 500, 0)],
    "2026-11-03": [("bob", "platform", OPUS, 1.0, 2, 2000, 300, 1000, 100),
                   ("default_user_id", None, HAIKU, 0.05, 1, 100, 10, 0, 0)],
}


def litellm_daily_activity() -> dict:
    results = []
    for day, entries in LITELLM_USAGE.items():
        keys, models = {}, {}
        total = [0.0, 0, 0, 0, 0, 0]
        for n, (user, team, model, *figures) in enumerate(entries):
            keys[f"hash-{day}-{n}"] = _key(user, team, *figures)
            models.setdefault(model, {"metrics": _metrics(0, 0, 0, 0, 0, 0), "metadata": {}, "api_key_breakdown": {}})
            for name, value in zip(("spend", "api_requests", "prompt_tokens", "completion_tokens",
                                    "cache_read_input_tokens", "cache_creation_input_tokens"), figures):
                models[model]["metrics"][name] += value
            total = [a + b for a, b in zip(total, figures)]
        results.append({"date": day, "metrics": _metrics(*total),
                        "breakdown": {"models": models, "model_groups": models, "providers": {}, "endpoints": {},
                                      "api_keys": keys, "entities": {}, "mcp_servers": {}}})
    return {"results": results, "metadata": {"total_spend": 5.55, "page": 1, "total_pages": 1, "has_more": False}}


LITELLM_KEYS = {"keys": [
    {"token": "hash-a", "user_id": "alice", "team_id": "platform", "max_budget": 50.0, "spend": 12.5},
    {"token": "hash-b", "user_id": "bob", "team_id": "platform", "max_budget": 30.0, "spend": 4.0},
    {"token": "hash-h", "user_id": HOSTILE, "team_id": "mobile", "max_budget": None, "spend": 0.75}],
    "total_count": 3, "current_page": 1, "total_pages": 1}
LITELLM_TEAMS = [{"team_id": "platform", "max_budget": 500.0, "spend": 120.0},
                 {"team_id": "mobile", "max_budget": 200.0, "spend": 0.75}]

LITELLM_METRICS = f"""\
# HELP litellm_spend_metric_total Total spend on LLM requests
# TYPE litellm_spend_metric_total counter
litellm_spend_metric_total{{end_user="dana",hashed_api_key="88dc28d0f030",api_key_alias="None",model="{OPUS}"}} 1.25
litellm_spend_metric_total{{end_user="{HOSTILE}",hashed_api_key="88dc28d0f030",api_key_alias="None",model="{HAIKU}"}} 0.5
litellm_spend_metric_total{{end_user="None",hashed_api_key="88dc28d0f030",api_key_alias="None",model="{OPUS}"}} 0.25
# TYPE litellm_requests_metric_total counter
litellm_requests_metric_total{{end_user="dana",hashed_api_key="88dc28d0f030",api_key_alias="None",model="{OPUS}"}} 5
litellm_requests_metric_total{{end_user="{HOSTILE}",hashed_api_key="88dc28d0f030",api_key_alias="None",model="{HAIKU}"}} 2
litellm_requests_metric_total{{end_user="None",hashed_api_key="88dc28d0f030",api_key_alias="None",model="{OPUS}"}} 1
# TYPE litellm_input_tokens_metric_total counter
litellm_input_tokens_metric_total{{end_user="dana",hashed_api_key="88dc28d0f030",api_key_alias="None",model="{OPUS}"}} 5000
litellm_input_tokens_metric_total{{end_user="{HOSTILE}",hashed_api_key="88dc28d0f030",api_key_alias="None",model="{HAIKU}"}} 800
# TYPE litellm_output_tokens_metric_total counter
litellm_output_tokens_metric_total{{end_user="dana",hashed_api_key="88dc28d0f030",api_key_alias="None",model="{OPUS}"}} 700
# TYPE litellm_input_cached_tokens_metric_total counter
litellm_input_cached_tokens_metric_total{{end_user="dana",hashed_api_key="88dc28d0f030",api_key_alias="None",model="{OPUS}"}} 2500
"""

ALICE_EMAIL, BOB_EMAIL = "alice@example.com", "bob@example.com"
# Per day: (developer, group, USD)
APPS_USAGE = {"2026-11-01": [(ALICE_EMAIL, "engineering", 1.2), (BOB_EMAIL, "sales", 0.3)],
              "2026-11-02": [(ALICE_EMAIL, "engineering", 0.8), (HOSTILE, "sales", 0.45)],
              "2026-11-03": [(BOB_EMAIL, "sales", 0.6)]}


def apps_cost(query: dict[str, list[str]]) -> dict:
    """The cost report's answer for the group_by[] and time_bucket_width asked for."""
    by = query.get("group_by[]", ["actor"])[0]
    daily = query.get("time_bucket_width") == ["1d"]
    sums: dict[tuple[str, str], float] = {}
    for day, entries in APPS_USAGE.items():
        for user, group, amount in entries:
            key = (day if daily else DAYS[0], user if by == "actor" else group)
            sums[key] = sums.get(key, 0.0) + amount
    data = []
    for (day, name), amount in sorted(sums.items()):
        actor = {"type": "user_actor", "user_id": name, "email_address": name, "name": None, "deleted": False}
        data.append({"starting_at": f"{day}T00:00:00Z", "ending_at": f"{day}T00:00:00Z",
                     "group": {"actor": actor if by == "actor" else None,
                               "rbac_group_id": name if by == "rbac_group_id" else None},
                     "cost": {"currency": "USD", "amount": f"{amount:.3f}", "list_amount": f"{amount:.3f}",
                              "requests": None}})
    return {"data": data, "has_more": False, "next_page": None, "data_refreshed_at": "2026-11-04T00:00:00Z"}


APPS_EFFECTIVE = {"data": [
    {"type": "spend_limit", "id": "sl_1", "scope": {"type": "user", "user_id": ALICE_EMAIL}, "amount": "50",
     "currency": "USD", "period": "daily", "period_to_date_spend": "0.8"},
    {"type": "spend_limit", "id": "sl_2", "scope": {"type": "user", "user_id": HOSTILE}, "amount": "20",
     "currency": "USD", "period": "weekly", "period_to_date_spend": "0.45"}], "has_more": False}


@dataclass
class Point:
    """An OTLP data point as otlp_translation.exposition() takes it."""
    metric: str
    value: float
    attributes: dict = field(default_factory=dict)
    resource: dict = field(default_factory=dict)
    unit: str = ""
    monotonic: bool = True


def telemetry_cost(developer: str | None, model: str, usd: float) -> Point:
    resource = {"service.name": "claude-code", **({"developer": developer} if developer else {})}
    return Point("claude_code.cost.usage", usd, {"model": model, "user.id": "h4sh"}, resource, "USD")


def telemetry_tokens(developer: str, model: str, kind: str, count: int) -> Point:
    return Point("claude_code.token.usage", count, {"model": model, "type": kind},
                 {"service.name": "claude-code", "developer": developer}, "tokens")


# What Claude Code 2.1.332 exports (the metric names, units and attributes tests/test_live_telemetry.py records).
TELEMETRY_POINTS = [
    telemetry_cost("alice", OPUS, 1.25), telemetry_cost("alice", "claude-haiku-4-5", 0.05),
    telemetry_cost("bob", OPUS, 0.5), telemetry_cost(None, OPUS, 0.01), telemetry_cost(HOSTILE, ODD_MODEL, 0.2),
    telemetry_tokens("alice", OPUS, "input", 1000), telemetry_tokens("alice", OPUS, "output", 200),
    telemetry_tokens("alice", OPUS, "cacheRead", 3000), telemetry_tokens("bob", OPUS, "input", 10),
    telemetry_tokens("bob", OPUS, "cacheCreation", 40)]


class RecordedAPI:
    """with RecordedAPI({path: body or callable(query) -> body}) as api: ... api.url; api.requests (path, query)."""

    def __init__(self, routes: dict):
        self.routes = routes
        self.requests: list[tuple[str, dict]] = []
        state = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                state.requests.append((parts.path, query))
                route = state.routes.get(parts.path)
                if route is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = route(query) if callable(route) else route
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
