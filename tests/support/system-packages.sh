#!/usr/bin/env bash
# The system packages `make test` needs (Debian names), in one place: `make test` and .ci/run call this.
# Installs the missing ones with apt-get when it may (as root, or with passwordless sudo); otherwise stops in one
# line naming them and the command to run. Python packages, the Claude Code CLI and LiteLLM are `make tools`' job.
set -euo pipefail

missing=()
command -v make >/dev/null || missing+=(make)
command -v git >/dev/null || missing+=(git)
command -v curl >/dev/null || missing+=(curl)  # the generated scripts' HTTP client
command -v tmux >/dev/null || missing+=(tmux)  # the interactive prompt tests
command -v tinyproxy >/dev/null || missing+=(tinyproxy-bin)  # the real forward proxy of the proxy tests
command -v openssl >/dev/null || missing+=(openssl)  # the tests' CA for TLS inspection
command -v strace >/dev/null || missing+=(strace)  # proves check-status.sh contacts no public gateway address
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql)  # the live database tests' throwaway Postgres
command -v redis-server >/dev/null || missing+=(redis-server)  # the high-availability tests' shared Redis
command -v haproxy >/dev/null || missing+=(haproxy)  # ... and their load balancer
command -v npm >/dev/null || missing+=(nodejs npm)  # the Claude Code CLI and the Prisma engine stand-in
command -v chromium >/dev/null || missing+=(chromium)  # opens the HTML usage report (tests/test_html_report.py)
# The Claude apps gateway's image: built and run with podman (runc, netavark, slirp4netns; their configuration is
# tests/support/containers.conf), its base image made with mmdebstrap, the compose file run with podman-compose.
# Without recommends (which would add crun, buildah and more; crun fails on the test machines' cgroups).
containers=()
for tool in podman runc fuse-overlayfs slirp4netns newuidmap netavark aardvark-dns catatonit iptables mmdebstrap \
  podman-compose; do
  case "$tool" in
    netavark|aardvark-dns) [ -x "/usr/lib/podman/$tool" ] || containers+=("$tool") ;;
    newuidmap) command -v newuidmap >/dev/null || containers+=(uidmap) ;;
    catatonit) [ -x /usr/bin/catatonit ] || [ -x /usr/libexec/podman/catatonit ] || containers+=(catatonit) ;;
    iptables) [ -x /usr/sbin/iptables ] || command -v iptables >/dev/null || containers+=(iptables) ;;
    *) command -v "$tool" >/dev/null || containers+=("$tool") ;;
  esac
done
command -v python3 >/dev/null || missing+=(python3 python3-venv)
[ "${#missing[@]}" -eq 0 ] && [ "${#containers[@]}" -eq 0 ] && exit 0

if [ "$EUID" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  sudo=(none)
fi
if [ "${sudo[*]}" = none ] || ! command -v apt-get >/dev/null; then
  echo "missing system packages (Debian names): ${missing[*]} ${containers[*]}; run: sudo apt-get install -y ${missing[*]}" \
    "&& sudo apt-get install -y --no-install-recommends ${containers[*]}" >&2
  exit 1
fi
echo "installing system packages: ${missing[*]} ${containers[*]}"
"${sudo[@]}" apt-get update -qq
if [ "${#missing[@]}" -gt 0 ]; then
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
if [ "${#containers[@]}" -gt 0 ]; then
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${containers[@]}"
fi
