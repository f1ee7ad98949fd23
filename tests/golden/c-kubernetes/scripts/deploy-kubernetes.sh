#!/usr/bin/env bash
# deploy-kubernetes.sh: deploy the gateway to Kubernetes from gateway/kubernetes/ and gateway/.env.
#
# In this order, stopping at the first failure:
#   1. offline: kubectl 1.27 or newer, every manifest kustomization.yaml lists, `kubectl kustomize` builds them;
#      gateway/.env holds every required key
#   2. the namespace claude-gateway, the Secret litellm-secrets (only the keys the pods read, from
#      gateway/.env, through a mode-600 temporary file: never on a command line) and the ConfigMap
#      litellm-config-local (gateway/litellm_config.local.yaml)
#   3. the migration Job litellm-migrate-1-108-14, awaited (up to 600 s)
#   4. `kubectl apply -k gateway/kubernetes --dry-run=server`, then the same for real
#   5. the rollout of deployment/litellm, awaited (up to 900 s)
# kubectl uses your current context (KUBECONFIG); every call has a timeout (--request-timeout, or --timeout
# for the two waits).
#
# Usage:  scripts/deploy-kubernetes.sh [--dry-run]
#   --dry-run   check step 1 and print what would be applied (the manifests, the Secret's key names, never
#               its values); changes nothing in the cluster
# Exit:   0 deployed (or the dry run passed)
#         1 a step failed (the message names it)
#         2 usage error
#         3 refused before any change: kubectl missing or older than 1.27, gateway/.env or a key
#           in it missing, a manifest missing
set -eu
set -o pipefail  # a failing `kubectl create ... | kubectl apply` fails the step
umask 077

case "$0" in */*) scripts_dir=${0%/*} ;; *) scripts_dir=. ;; esac
# shellcheck source=lib/common.sh
. "$scripts_dir/lib/common.sh"
answer_help "$@"

dry_run=0
case "${1:-}" in
  "") ;;
  --dry-run) dry_run=1 ;;
  *) echo "usage: $0 [--dry-run]" >&2; exit 2 ;;
esac
[ "$#" -le 1 ] || { echo "usage: $0 [--dry-run]" >&2; exit 2; }

here=$(cd "$scripts_dir/.." && pwd)
manifests="$here/gateway/kubernetes"
envfile="$here/gateway/.env"
local_config="$here/gateway/litellm_config.local.yaml"
namespace=claude-gateway
request_timeout=30s

say() { printf '%s\n' "deploy-kubernetes.sh: $*"; }
refuse() { echo "deploy-kubernetes.sh: $1; nothing was changed" >&2; exit 3; }
fail() { echo "deploy-kubernetes.sh: $1" >&2; exit 1; }
kube() { kubectl --request-timeout="$request_timeout" "$@"; }

# --- 1. offline checks ---------------------------------------------------------------------------------------
command -v kubectl >/dev/null 2>&1 \
  || refuse "needs kubectl 1.27 or newer, which is not in PATH; install it (https://kubernetes.io/docs/tasks/tools/)"
version_json=$(kubectl version --client -o json 2>/dev/null | tr -d ' \n\t') || version_json=""
major=$(printf '%s' "$version_json" | sed -n 's/.*"clientVersion":{[^}]*"major":"\([0-9]*\).*/\1/p')
minor=$(printf '%s' "$version_json" | sed -n 's/.*"clientVersion":{[^}]*"minor":"\([0-9]*\).*/\1/p')
case "$major.$minor" in
  [0-9]*.[0-9]*) ;;
  *) refuse "cannot read kubectl's version (kubectl version --client -o json); needs kubectl 1.27 or newer" ;;
esac
if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 27 ]; }; then
  refuse "kubectl $major.$minor is too old; needs 1.27 or newer (server-side dry run, apply -k)"
fi

for manifest in kustomization.yaml namespace.yaml configmap.yaml deployment.yaml service.yaml poddisruptionbudget.yaml horizontalpodautoscaler.yaml networkpolicy.yaml ingress.yaml migration-job.yaml; do
  [ -f "$manifests/$manifest" ] || refuse "gateway/kubernetes/$manifest is missing (regenerate it with copier update)"
done
kubectl kustomize "$manifests" >/dev/null 2>&1 || refuse "kubectl kustomize gateway/kubernetes fails; run it to see why"

[ -f "$envfile" ] || refuse "gateway/.env is missing; run scripts/init-secrets.sh and fill it in"
[ -f "$local_config" ] || refuse "gateway/litellm_config.local.yaml is missing; run scripts/init-secrets.sh"

# The Secret's content, key by key from gateway/.env (never evaluated), into a mode-600 file removed on exit.
secret_file=$(mktemp)
trap 'rm -f "$secret_file"' EXIT
secret_keys=""
# add_key NAME REQUIRED: NAME's value from gateway/.env into the Secret's file; a required one must be set.
add_key() {
  local value
  value=$(dotenv_value "$envfile" "$1" || true)
  if [ -z "$value" ]; then
    [ "$2" = required ] && refuse "gateway/.env has no value for $1, which the gateway's pods need"
    return 0
  fi
  printf '%s=%s\n' "$1" "$value" >>"$secret_file"
  secret_keys="$secret_keys $1"
}
add_key LITELLM_MASTER_KEY required
add_key LITELLM_SALT_KEY required
add_key DATABASE_URL required
add_key REDIS_URL required
add_key ANTHROPIC_API_KEY required

if [ "$dry_run" -eq 1 ]; then
  say "dry run: checks passed; nothing is applied"
  say "would create or update in namespace $namespace: secret/litellm-secrets with keys:$secret_keys"
  say "would create or update configmap/litellm-config-local from gateway/litellm_config.local.yaml"
  say "would run job/litellm-migrate-1-108-14 and wait for it"
  say "would apply (kubectl apply -k gateway/kubernetes):"
  kubectl kustomize "$manifests"
  exit 0
fi

# --- 2. namespace, Secret, ConfigMaps from files ---------------------------------------------------------------
kube apply -f "$manifests/namespace.yaml" >/dev/null || fail "could not apply the namespace $namespace (step 2)"
secret_changed=$(kube -n "$namespace" create secret generic litellm-secrets --from-env-file="$secret_file" \
    --dry-run=client -o yaml | kube apply -f -) || fail "could not create or update secret/litellm-secrets (step 2)"
rm -f "$secret_file"
say "secret/litellm-secrets: keys$secret_keys"
# What changed here is not in the pod template (the Secret, files outside git): the pods restart after step 4.
changed=$(kube -n "$namespace" create configmap litellm-config-local \
    --from-file=litellm_config.local.yaml="$local_config" --dry-run=client -o yaml | kube apply -f -) \
  || fail "could not create or update configmap/litellm-config-local (step 2)"
changed="$changed $secret_changed"

# --- 3. the migration Job, before any pod of the new release starts ----------------------------------------------
kube apply -f "$manifests/migration-job.yaml" >/dev/null || fail "could not apply job/litellm-migrate-1-108-14 (step 3)"
say "job/litellm-migrate-1-108-14: waiting for the database migrations (up to 600 s)"
kubectl -n "$namespace" wait --for=condition=complete job/litellm-migrate-1-108-14 --timeout=600s >/dev/null \
  || fail "job/litellm-migrate-1-108-14 did not complete; see: kubectl -n $namespace logs job/litellm-migrate-1-108-14 (step 3)"

# --- 4. the manifests: a server-side dry run first, then for real -----------------------------------------------
kube apply -k "$manifests" --dry-run=server >/dev/null \
  || fail "the server refused the manifests in a dry run; nothing of step 4 was applied"
kube apply -k "$manifests" || fail "kubectl apply -k gateway/kubernetes failed (step 4)"
case "$changed" in
  *configured*|*created*)
    # A changed Secret or file outside the manifests: not in the pod template's checksum, so restart the pods.
    kube -n "$namespace" rollout restart deployment/litellm >/dev/null || fail "could not restart deployment/litellm (step 4)" ;;
esac

# --- 5. the rollout -----------------------------------------------------------------------------------------------
kubectl -n "$namespace" rollout status deployment/litellm --timeout=900s \
  || fail "deployment/litellm did not become ready; see: kubectl -n $namespace describe deployment/litellm (step 5)"
say "done: the gateway answers at https://llm-gateway.example.com once DNS and the TLS certificate (secret/litellm-tls) are in place; check with scripts/health-check.sh"
