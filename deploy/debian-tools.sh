#!/usr/bin/env bash
# Debian packages hopgraph's tests and tools use, installed when missing (as root, or with sudo):
#   prometheus  for promtool, which checks deploy/prometheus/hopgraph-alerts.yml and runs its unit tests
#   chromium    the headless browser the web app's tests (tests/browser) drive through Playwright
#   postgresql  the shared server state of API replicas (deploy/services.sh start postgres)
#   haproxy     the load balancer in front of API replicas (deploy/replicas.sh)
set -euo pipefail
want=()
command -v promtool >/dev/null 2>&1 || want+=(prometheus)
command -v chromium >/dev/null 2>&1 || want+=(chromium)
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || want+=(postgresql)
command -v haproxy >/dev/null 2>&1 || want+=(haproxy)
[ "${#want[@]}" -eq 0 ] && exit 0
run() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
echo "[debian-tools] installing ${want[*]}" >&2
run apt-get install -y --no-install-recommends "${want[@]}" >/dev/null 2>&1 \
  || { run apt-get update >/dev/null && run apt-get install -y --no-install-recommends "${want[@]}" >/dev/null; }
