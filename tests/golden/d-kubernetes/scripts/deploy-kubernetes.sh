#!/usr/bin/env bash
# deploy-kubernetes.sh: deploy the gateway to Kubernetes from gateway/kubernetes/ and gateway/.env.
#
# In this order, stopping at the first failure:
#   1. offline: kubectl 1.27 or newer, every manifest kustomization.yaml lists, `kubectl kustomize` builds them;
#      gateway/.env holds every required key, gateway/ca-bundle.pem exists (gateway/build-ca-bundle.sh)
#   2. the namespace claude-gateway, the Secret litellm-secrets-<hash> (only the keys the pods read, from
#      gateway/.env, through a mode-600 temporary file: never on a command line) and the ConfigMap
#      litellm-config-local-<hash> (gateway/litellm_config.local.yaml) and litellm-ca-bundle-<hash> (gateway/ca-bundle.pem).
#      <hash>: the first 10 hex digits of the content's sha256, as kustomize's secretGenerator names them. A new
#      content is a new object, created (never changed: what running pods read stays as it is); the manifests are
#      applied with these names in place of the plain ones
#   3. the migration Job litellm-migrate-1-108-14, awaited (up to 600 s)
#   4. the manifests (`kubectl kustomize gateway/kubernetes`, release names in): a server-side dry run, then for real
#   5. the rollout of deployment/litellm, awaited (up to 900 s); if it fails,
#      `kubectl rollout undo` gives the running release its pod template back
# On any failure after step 2 it deletes the Secret and ConfigMaps this run created, and only those: the running
# release's configuration is left as it was.
# kubectl uses your current context (KUBECONFIG); every call has a timeout (--request-timeout, or --timeout
# for the two waits).
#
# Usage:  scripts/deploy-kubernetes.sh [--dry-run]
#   --dry-run   check step 1 and print what would be applied (the manifests, the Secret's key names, never
#               its values); changes nothing in the cluster
# Exit:   0 deployed (or the dry run passed)
#         1 a step failed (the message names it); what this run created is deleted again
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
trap 'exit 130' INT
trap 'exit 143' TERM
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

for manifest in kustomization.yaml namespace.yaml configmap.yaml proxy-configmap.yaml deployment.yaml service.yaml poddisruptionbudget.yaml horizontalpodautoscaler.yaml networkpolicy.yaml ingress.yaml migration-job.yaml redis-deployment.yaml redis-service.yaml redis-networkpolicy.yaml; do
  [ -f "$manifests/$manifest" ] || refuse "gateway/kubernetes/$manifest is missing (regenerate it with copier update)"
done
kubectl kustomize "$manifests" >/dev/null 2>&1 || refuse "kubectl kustomize gateway/kubernetes fails; run it to see why"

[ -f "$envfile" ] || refuse "gateway/.env is missing; run scripts/init-secrets.sh and fill it in"
[ -f "$local_config" ] || refuse "gateway/litellm_config.local.yaml is missing; run scripts/init-secrets.sh"
[ -f "$here/gateway/ca-bundle.pem" ] || refuse "gateway/ca-bundle.pem is missing; run gateway/build-ca-bundle.sh"

if command -v sha256sum >/dev/null 2>&1; then
  hash10() { sha256sum "$1" | cut -c1-10; }
elif command -v shasum >/dev/null 2>&1; then
  hash10() { shasum -a 256 "$1" | cut -c1-10; }
else
  refuse "needs sha256sum or shasum (to name each release's Secret), which is not in PATH; install coreutils"
fi

# The Secret's content, key by key from gateway/.env (never evaluated), into a mode-600 file removed on exit;
# the built manifests beside it. What this run created in the cluster ("kind/name ...") is deleted again unless
# the deployment succeeded.
secret_file=$(mktemp)
built=$(mktemp)
created=""
deployed=0
cleanup() {
  local object
  rm -f "$secret_file" "$built"
  [ "$deployed" -eq 0 ] || return 0
  for object in $created; do
    if kube -n "$namespace" delete "$object" --ignore-not-found >/dev/null 2>&1; then
      say "deleted $object (created by this run)"
    else
      echo "deploy-kubernetes.sh: could not delete $object; run: kubectl -n $namespace delete $object" >&2
    fi
  done
}
trap cleanup EXIT
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
add_key REDIS_PASSWORD required
add_key REDIS_URL required
add_key ANTHROPIC_API_KEY required
add_key AWS_ACCESS_KEY_ID required
add_key AWS_SECRET_ACCESS_KEY required
add_key AWS_SESSION_TOKEN optional
# A proxy URL with the gateway's own proxy credentials overrides the ConfigMap litellm-proxy-env.
proxy_with_credentials=$(dotenv_value "$envfile" GATEWAY_HTTPS_PROXY || true)
if [ -n "$proxy_with_credentials" ]; then
  printf 'HTTPS_PROXY=%s\nHTTP_PROXY=%s\n' "$proxy_with_credentials" "$proxy_with_credentials" >>"$secret_file"
  secret_keys="$secret_keys HTTPS_PROXY HTTP_PROXY"
fi

# Each release's names (the plain name, then the content's hash).
secret_name="litellm-secrets-$(hash10 "$secret_file")"
local_name="litellm-config-local-$(hash10 "$local_config")"
ca_name="litellm-ca-bundle-$(hash10 "$here/gateway/ca-bundle.pem")"
# with_release_names: the manifests on stdin with each plain name replaced by this release's.
with_release_names() {
  sed -e "s/^\\( *name: \\)litellm-secrets\$/\\1$secret_name/" \
      -e "s/^\\( *name: \\)litellm-config-local\$/\\1$local_name/" \
      -e "s/^\\( *name: \\)litellm-ca-bundle\$/\\1$ca_name/"
}
# create_once KIND NAME ARGS...: `kubectl create KIND ... NAME ARGS` unless NAME is there (same name, same content:
# the running release's, which is never changed); noted in $created when this run created it.
create_once() {
  local kind=$1 name=$2 resource
  shift 2
  resource=${kind%% *}/$name
  if kube -n "$namespace" get "$resource" -o name >/dev/null 2>&1; then
    say "$resource: already there (same content), kept"
    return 0
  fi
  # shellcheck disable=SC2086  # KIND is one or two words: "secret generic", "configmap"
  kube -n "$namespace" create $kind "$name" "$@" >/dev/null || return 1
  created="$created $resource"
}

if [ "$dry_run" -eq 1 ]; then
  say "dry run: checks passed; nothing is applied"
  say "would create in namespace $namespace: secret/$secret_name with keys:$secret_keys"
  say "would create configmap/$local_name from gateway/litellm_config.local.yaml"
  say "would create configmap/$ca_name from gateway/ca-bundle.pem"
  say "would run job/litellm-migrate-1-108-14 and wait for it"
  say "would apply (kubectl kustomize gateway/kubernetes, with these names):"
  kubectl kustomize "$manifests" | with_release_names
  exit 0
fi

# --- 2. namespace, Secret, ConfigMaps from files ---------------------------------------------------------------
kube apply -f "$manifests/namespace.yaml" >/dev/null || fail "could not apply the namespace $namespace (step 2)"
create_once "secret generic" "$secret_name" --from-env-file="$secret_file" \
  || fail "could not create secret/$secret_name (step 2)"
rm -f "$secret_file"
say "secret/$secret_name: keys$secret_keys"
create_once configmap "$local_name" --from-file=litellm_config.local.yaml="$local_config" \
  || fail "could not create configmap/$local_name (step 2)"
create_once configmap "$ca_name" --from-file=ca-bundle.pem="$here/gateway/ca-bundle.pem" \
  || fail "could not create configmap/$ca_name (step 2)"

# --- 3. the migration Job, before any pod of the new release starts ----------------------------------------------
with_release_names <"$manifests/migration-job.yaml" | kube apply -f - >/dev/null || fail "could not apply job/litellm-migrate-1-108-14 (step 3)"
say "job/litellm-migrate-1-108-14: waiting for the database migrations (up to 600 s)"
kubectl -n "$namespace" wait --for=condition=complete job/litellm-migrate-1-108-14 --timeout=600s >/dev/null \
  || fail "job/litellm-migrate-1-108-14 did not complete; see: kubectl -n $namespace logs job/litellm-migrate-1-108-14 (step 3)"

# --- 4. the manifests: a server-side dry run first, then for real -----------------------------------------------
kubectl kustomize "$manifests" | with_release_names >"$built" || fail "kubectl kustomize gateway/kubernetes failed (step 4)"
kube apply -f "$built" --dry-run=server >/dev/null \
  || fail "the server refused the manifests in a dry run; nothing of step 4 was applied"
kube apply -f "$built" || fail "kubectl apply of gateway/kubernetes failed (step 4)"

# --- 5. the rollout -----------------------------------------------------------------------------------------------
if ! kubectl -n "$namespace" rollout status deployment/litellm --timeout=900s; then
  kube -n "$namespace" rollout undo deployment/litellm >/dev/null 2>&1 \
    || echo "deploy-kubernetes.sh: could not roll back; run: kubectl -n $namespace rollout undo deployment/litellm" >&2
  fail "deployment/litellm did not become ready, rolled back to the running release; see: kubectl -n $namespace describe deployment/litellm (step 5)"
fi
deployed=1
say "done: the gateway answers at https://llm-gateway.example.com once DNS and the TLS certificate (secret/litellm-tls) are in place; check with scripts/health-check.sh"
