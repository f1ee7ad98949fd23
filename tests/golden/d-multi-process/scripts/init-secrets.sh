#!/usr/bin/env bash
# init-secrets.sh: create gateway/.env with the gateway's generated secrets, once.
#
# Writes (mode 600) a random master key (sk-...), a salt key, and lists
# (commented) the provider credentials you must fill in. A value that is already set is never overwritten, so
# running it again is safe, and the salt key (which must never change) survives. gateway/.env is gitignored and
# is not a template file: no `copier update` can change or delete it.
#
# Usage:  scripts/init-secrets.sh
# Exit:   0 done (or nothing to add); 1 failed; 2 usage error
set -eu

# shellcheck source=lib/common.sh
. "$(dirname "$0")/lib/common.sh"
answer_help "$@"
[ "$#" -eq 0 ] || { echo "usage: $0   (no arguments)" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
envfile="$here/gateway/.env"

# random_hex BYTES: hex from the kernel's CSPRNG
random_hex() { od -An -tx1 -N "$1" /dev/urandom | tr -d ' \n'; }

# has KEY: gateway/.env already sets KEY (a commented line does not count)
has() { [ -f "$envfile" ] && grep -q "^$1=." "$envfile"; }

umask 077
if [ ! -f "$envfile" ]; then
  printf '# gateway/.env: secrets of the LiteLLM gateway. Never commit it (gitignored). See gateway/.env.example.\n' >"$envfile"
fi
chmod 600 "$envfile"

added=""
add() {  # add KEY VALUE: append unless set; a commented or empty KEY= line is replaced
  if has "$1"; then return 0; fi
  tmp="$envfile.tmp.$$"
  grep -v "^#\{0,1\} \{0,1\}$1=\$" "$envfile" >"$tmp" || true
  printf '%s=%s\n' "$1" "$2" >>"$tmp"
  mv "$tmp" "$envfile"
  chmod 600 "$envfile"
  added="$added $1"
}

add LITELLM_MASTER_KEY "sk-$(random_hex 24)"
add LITELLM_SALT_KEY "sk-$(random_hex 24)"

# Provider credentials: listed for you to fill in; never generated, never overwritten.
if ! grep -q "^#\{0,1\} \{0,1\}GATEWAY_HTTPS_PROXY=" "$envfile"; then
  printf '# %s\n# %s=\n' 'Only if the gateway'"'"'s proxy needs credentials: the proxy URL with them (percent-encoded); overrides the generated one.' GATEWAY_HTTPS_PROXY >>"$envfile"
fi
if ! grep -q "^#\{0,1\} \{0,1\}ANTHROPIC_API_KEY=" "$envfile"; then
  printf '# %s\n# %s=\n' 'Anthropic API key the gateway calls upstream with.' ANTHROPIC_API_KEY >>"$envfile"
fi
if ! grep -q "^#\{0,1\} \{0,1\}AWS_ACCESS_KEY_ID=" "$envfile"; then
  printf '# %s\n# %s=\n' 'AWS keys with Bedrock access (or mount a profile: see the README).' AWS_ACCESS_KEY_ID >>"$envfile"
fi
if ! grep -q "^#\{0,1\} \{0,1\}AWS_SECRET_ACCESS_KEY=" "$envfile"; then
  printf '# %s\n# %s=\n' 'Secret of the AWS key above.' AWS_SECRET_ACCESS_KEY >>"$envfile"
fi
if ! grep -q "^#\{0,1\} \{0,1\}AWS_SESSION_TOKEN=" "$envfile"; then
  printf '# %s\n# %s=\n' 'Only for temporary AWS credentials.' AWS_SESSION_TOKEN >>"$envfile"
fi

# The home of your own LiteLLM settings, included by gateway/litellm_config.yaml. Not a template file: yours to
# edit and commit; no copier update or migration changes or deletes it.
local_config="$here/gateway/litellm_config.local.yaml"
if [ ! -f "$local_config" ]; then
  cat >"$local_config" <<'YAML'
# Your own LiteLLM settings (this file is yours: commit it; no copier update or migration touches it).
# gateway/litellm_config.yaml includes it: model_list entries here are added to the generated ones; any other
# top-level key (router_settings, litellm_settings, ...) replaces the generated one wholesale.
model_list: []
YAML
  echo "gateway/litellm_config.local.yaml: created for your own LiteLLM settings (commit it)"
fi

if [ -n "$added" ]; then
  echo "gateway/.env: added$added (mode 600)"
else
  echo "gateway/.env: all generated secrets already set; nothing changed"
fi
missing=""
has ANTHROPIC_API_KEY || missing="$missing ANTHROPIC_API_KEY"
has AWS_ACCESS_KEY_ID || missing="$missing AWS_ACCESS_KEY_ID"
has AWS_SECRET_ACCESS_KEY || missing="$missing AWS_SECRET_ACCESS_KEY"
if [ -n "$missing" ]; then
  echo "fill in gateway/.env:$missing (see gateway/.env.example)"
fi
