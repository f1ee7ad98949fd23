"""gateway_api.py: the gateway's admin API (LiteLLM), for scripts/sync-access.sh, new-key.sh and usage-report.sh.

Standard library only. The key comes from the GATEWAY_ADMIN_KEY environment variable (the shell entry points put
the master key there, from LITELLM_MASTER_KEY or gateway/.env); it is sent as a bearer token and never printed:
every message that could echo a server's answer goes through `redact`. Every call has a timeout. HTTP(S)_PROXY
and NO_PROXY apply as for curl.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

TIMEOUT_SECONDS = 30
PAGE_SIZE = 100
MAX_PAGES = 1000  # 100,000 keys: a bound on every listing loop
_SECRET = re.compile(r"sk-[A-Za-z0-9_-]{6,}")


class GatewayError(Exception):
    """A call the gateway refused or did not answer; the message is one line naming the call."""


def redact(text: str) -> str:
    """`text` with anything shaped like a key replaced: server messages can quote the key they refused."""
    return _SECRET.sub("sk-…", text)


class GatewayAPI:
    def __init__(self, url: str, key: str, timeout: float = TIMEOUT_SECONDS):
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout

    @classmethod
    def from_environment(cls) -> GatewayAPI:
        url, key = os.environ.get("GATEWAY_URL", ""), os.environ.get("GATEWAY_ADMIN_KEY", "")
        if not url or not key:
            raise GatewayError("GATEWAY_URL and GATEWAY_ADMIN_KEY must be set (the scripts/*.sh entry points do)")
        return cls(url, key)

    def call(self, method: str, path: str, body: Any = None, query: dict | None = None, text: bool = False) -> Any:
        """The decoded JSON answer of METHOD PATH (with `text`, the answer as text); GatewayError for anything
        but HTTP 200 with JSON."""
        target = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(target, data=data, method=method, headers={
            "Authorization": f"Bearer {self.key}", "Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read().decode("utf-8", "replace") if text else json.load(response)
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")
            hint = "; is the key the master key (LITELLM_MASTER_KEY or gateway/.env)?" if error.code in (401, 403) else ""
            raise GatewayError(f"{method} {path} answered HTTP {error.code}: {_message(detail)}{hint}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise GatewayError(f"{method} {self.url}{path} did not answer ({reason}); is the gateway running?") from None
        except ValueError:
            raise GatewayError(f"{method} {path} answered with something that is not JSON") from None

    def keys(self) -> list[dict]:
        """Every virtual key, as LiteLLM's full key objects (`token` is the key's hash, never the key)."""
        found: list[dict] = []
        for page in range(1, MAX_PAGES + 1):
            answer = self.call("GET", "/key/list", query={"return_full_object": "true", "include_team_keys": "true",
                                                          "page": page, "size": PAGE_SIZE})
            found += [key for key in answer.get("keys", []) if isinstance(key, dict)]
            if page >= int(answer.get("total_pages") or 1):
                return found
        raise GatewayError(f"GET /key/list: more than {MAX_PAGES} pages of keys; stopped")

    def teams(self) -> list[dict]:
        answer = self.call("GET", "/team/list")
        return [team for team in answer if isinstance(team, dict)] if isinstance(answer, list) else []

    def daily_activity(self, table: str, since: str, until: str) -> list[dict]:
        """The daily spend rows of `table` ("user" or "team") from `since` to `until` (YYYY-MM-DD, UTC days)."""
        results: list[dict] = []
        for page in range(1, MAX_PAGES + 1):
            answer = self.call("GET", f"/{table}/daily/activity",
                               query={"start_date": since, "end_date": until, "page": page, "page_size": 1000})
            results += answer.get("results", [])
            if page >= int((answer.get("metadata") or {}).get("total_pages") or 1):
                return results
        raise GatewayError(f"GET /{table}/daily/activity: more than {MAX_PAGES} pages; stopped")


def _message(body: str) -> str:
    """LiteLLM's error message out of its JSON error body (or the body's start), on one line, redacted."""
    try:
        error = json.loads(body).get("error", body)
        text = error.get("message", error) if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        text = body
    return redact(" ".join(str(text).split()))[:300]
