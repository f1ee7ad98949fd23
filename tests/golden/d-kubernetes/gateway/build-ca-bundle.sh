#!/usr/bin/env bash
# build-ca-bundle.sh: the CA bundle the gateway trusts behind a TLS-inspecting proxy: certifi's public roots
# PLUS the corporate root CA, written to gateway/ca-bundle.pem (gitignored), which SSL_CERT_FILE points at.
# A bundle with only the corporate CA would break every host the proxy does not inspect: the roots are
# extended, never replaced.
#
# Usage:  gateway/build-ca-bundle.sh [CORPORATE_CA_PEM]     (default: /etc/ssl/corp-root.pem, the corporate_ca_cert answer)
# Exit:   0 written; 1 failed (the old bundle, if any, is left as it was)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../scripts/lib/common.sh
. "$here/../scripts/lib/common.sh"
answer_help "$@"
ca=${1:-/etc/ssl/corp-root.pem}
die() { echo "build-ca-bundle.sh: $*" >&2; exit 1; }

[ -r "$ca" ] || die "cannot read the corporate CA at $ca; pass its path on this host as the first argument"
grep -q -- "-----BEGIN CERTIFICATE-----" "$ca" || die "$ca holds no PEM certificate"

# certifi from the gateway's own Python (LITELLM_BIN's, or gateway/.venv), else any python3 that has it.
public=""
for python in "${LITELLM_BIN:+$(dirname "$LITELLM_BIN")/python}" "$here/.venv/bin/python" python3; do
  [ -n "$python" ] || continue
  if public=$("$python" -c 'import certifi; print(certifi.where())' 2>/dev/null); then break; fi
  public=""
done
[ -n "$public" ] && [ -r "$public" ] \
  || die "certifi (the public roots) not found: run gateway/run-local.sh start once, or pip install certifi"

tmp=$(mktemp "$here/.ca-bundle.XXXXXX")
{
  cat "$public"
  printf '\n# Corporate root CA for TLS inspection, from %s\n' "$ca"
  cat "$ca"
} >"$tmp"
chmod 644 "$tmp"
mv "$tmp" "$here/ca-bundle.pem"
echo "gateway/ca-bundle.pem: $(grep -c -- '-----BEGIN CERTIFICATE-----' "$here/ca-bundle.pem") certificates (certifi's public roots + $ca)"
