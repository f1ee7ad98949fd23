#!/usr/bin/env bash
# usage-report.sh: spend and tokens per model (and per key) since the gateway started, from its Prometheus
# metrics (GET /metrics/, which needs the master key). Works without a database.
#
# Counters live in the gateway's memory: they restart from zero with the gateway and are per worker
# process. For history, let a Prometheus server scrape /metrics/.
# With only the master key in use every request is attributed to that one key: per-developer lines need
# virtual keys.
#
# Usage:  scripts/usage-report.sh          (GATEWAY_URL overrides https://llm-gateway.example.com)
# Exit:   0 report printed; 1 the gateway did not answer or refused the key; 2 usage error
set -eu

# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
answer_help "$@"
[ "$#" -eq 0 ] || { echo "usage: $0" >&2; exit 2; }
# shellcheck source=lib/gateway-api.sh
. "$(dirname "$0")/lib/gateway-api.sh"
gateway_key admin
[ -n "$key" ] || { echo "usage-report.sh: no master key (set LITELLM_MASTER_KEY or run scripts/init-secrets.sh)" >&2; exit 1; }

reply=$(gateway_request GET /metrics/ 15)
status=${reply%% *}
if [ "$status" != 200 ]; then
  echo "usage-report.sh: $gateway/metrics/ answered HTTP $status; is the gateway running with the prometheus callback, and is the key from $key_source the master key?" >&2
  exit 1
fi

metrics=$(mktemp)
trap 'rm -f "$metrics"' EXIT
printf '%s' "${reply#* }" >"$metrics"
python3 - "$metrics" <<'PY'
import re
import sys
from collections import defaultdict

LINE = re.compile(r"^(\w+)\{(.*)\}\s+(\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
WANTED = {"litellm_spend_metric_total": "spend", "litellm_total_tokens_metric_total": "tokens",
          "litellm_input_tokens_metric_total": "input", "litellm_output_tokens_metric_total": "output"}
by_model = defaultdict(lambda: defaultdict(float))
by_key = defaultdict(lambda: defaultdict(float))
with open(sys.argv[1], encoding="utf-8") as metrics:
    for line in metrics:
        match = LINE.match(line.strip())
        if not match or match.group(1) not in WANTED:
            continue
        labels = dict(LABEL.findall(match.group(2)))
        column, value = WANTED[match.group(1)], float(match.group(3))
        by_model[labels.get("model", "?")][column] += value
        key = labels.get("hashed_api_key") or ""
        if key and key != "None":
            alias = (labels.get("api_key_alias") or "").split(" (more budget: ")[0]  # the developer
            by_key[key[:12] + ("  " + alias if alias not in ("", "None") else "")][column] += value


def table(title, rows):
    print(f"{title:<40} {'spend USD':>12} {'tokens':>10} {'input':>10} {'output':>10}")
    for name, row in sorted(rows.items()):
        print(f"{name:<40} {row['spend']:>12.6f} {row['tokens']:>10.0f} {row['input']:>10.0f} {row['output']:>10.0f}")


if not by_model:
    print("no requests recorded since the gateway started")
    sys.exit(0)
table("model", by_model)
if by_key:
    print()
    table("key (hashed, alias)", by_key)
PY
