#!/usr/bin/env bash
# sync-access.sh: make the gateway's teams and developers' keys match gateway/access.yaml (budgets, rate limits,
# models), through LiteLLM's admin API. access.yaml is yours: reviewed and committed like code; this script never
# writes to it, and template updates and pattern migrations never touch it. Its format is in its header.
#
# Idempotent: it creates what is missing, updates what changed, and reports what exists only on the server. It
# removes a developer's key or a team only with --prune, and only what it created itself (keys made by
# new-key.sh or the admin UI are listed, never touched).
# A new key is shown once: written to gateway/keys/<developer>.key (mode 600; hand it over, then delete the file),
# or printed on stdout with --print-keys. Keys are never written anywhere else, nor logged. gateway/keys must be a
# real folder of yours (not a link); it is created, or narrowed, to mode 700 before any key is made. A key that
# cannot be delivered is revoked; a developer whose key was made but never delivered (a run stopped half-way) is
# reported as NOT DELIVERED, and the sync exits 1, until --rotate replaces that key.
# Names LiteLLM gives its own identities (default_user_id, litellm...) are refused.
#
# Usage:  scripts/sync-access.sh [--dry-run] [--prune] [--print-keys] [--file PATH] [--rotate DEVELOPER]...
#   --dry-run     show the plan; change nothing
#   --prune       also remove the keys and teams that are no longer in the file
#   --file PATH   another access file (default gateway/access.yaml; created with examples when missing)
#   --rotate DEV  give DEV a new key and revoke their old one (a lost or undelivered key)
# Needs python3 with PyYAML, the master key (LITELLM_MASTER_KEY or gateway/.env), the gateway's database.
# GATEWAY_API_TIMEOUT (seconds per call, default 30), GATEWAY_API_TOTAL_TIMEOUT (per run, 900) and
# GATEWAY_API_MAX_MB (largest answer read, 8) bound the calls; a redirect is never followed (the key would go along).
# Exit:   0 in sync (or dry run, or access.yaml just created); 1 the gateway refused or did not answer (the
#         changes made before are listed; run again to finish), a key could not be delivered (it was revoked),
#         or a developer has no delivered key (--rotate them); 2 usage error, access.yaml is invalid (one line per
#         problem naming the entry), or gateway/keys is not a folder keys can go to (nothing was changed)
set -eu

# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
answer_help "$@"
usage() { echo "usage: $0 [--dry-run] [--prune] [--print-keys] [--file PATH] [--rotate DEVELOPER]..." >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
access_file="$(dirname "$here")/gateway/access.yaml"
options=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --dry-run|--prune|--print-keys) options+=("$1"); shift ;;
    --file) [ "$#" -ge 2 ] || usage; access_file=$2; shift 2 ;;
    --rotate) [ "$#" -ge 2 ] || usage; options+=(--rotate "$2"); shift 2 ;;
    *) usage ;;
  esac
done
models='["claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"]'

need_tools python3
if [ ! -e "$access_file" ]; then
  python3 "$here/lib/access.py" sample --models "$models" >"$access_file"
  echo "sync-access.sh: wrote $access_file with examples and no one in it; list your teams and developers, commit it, run again"
  exit 0
fi
python3 -c 'import yaml' 2>/dev/null \
  || { echo "sync-access.sh: needs PyYAML for python3: pip install pyyaml, or apt-get install python3-yaml" >&2; exit 1; }

# shellcheck source=lib/gateway-api.sh
. "$here/lib/gateway-api.sh"
gateway_key admin
[ -n "$key" ] || { echo "sync-access.sh: no master key (set LITELLM_MASTER_KEY or run scripts/init-secrets.sh)" >&2; exit 1; }

umask 077  # the keys folder and files: the developer's key, readable by you only
GATEWAY_URL=$gateway GATEWAY_ADMIN_KEY=$key exec python3 "$here/lib/access.py" sync "$access_file" \
  --models "$models" --alias-suffix ' (more budget: the team that runs your gateway)' --keys-dir "$project_root/gateway/keys" \
  ${options[@]+"${options[@]}"}
