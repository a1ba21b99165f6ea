# Sourced by deploy/inference.sh and deploy/replicas.sh: the services directory, the Python to use, and the
# process and HTTP checks both need. Defines REPO_DIR, SDIR, RUN_DIR, LOG_DIR, PY; running; http_ok.

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SDIR="${HOPGRAPH_SERVICES_DIR:-$REPO_DIR/.services}"
RUN_DIR="$SDIR/run"
LOG_DIR="$SDIR/logs"
if [[ -n "${HOPGRAPH_PYTHON:-}" ]]; then PY="$HOPGRAPH_PYTHON"
elif [[ -x "$REPO_DIR/.venv/bin/python" ]]; then PY="$REPO_DIR/.venv/bin/python"
else PY=python3; fi
mkdir -p "$RUN_DIR" "$LOG_DIR"

running() { # running PID: alive and not a zombie (a server killed but not yet reaped by its new parent)
  kill -0 "$1" 2>/dev/null || return 1
  [[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]]
}

http_ok() { # http_ok PORT PATH: GET http://127.0.0.1:PORT/PATH answers 200 within 2 s
  "$PY" - "$1" "$2" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except OSError:
    sys.exit(1)
EOF
}
