#!/usr/bin/env bash
# hopgraph reader servers: N OpenAI-compatible llama.cpp servers (llama-cpp-python[server]) on 127.0.0.1,
# for llm_backend = openai (tests, benchmarks, or a box that serves the reader to other hosts).
#
#   deploy/inference.sh start [N] [READER]   start N servers (default 2) of READER (default 'fast'; any name
#                                            'hopgraph models path' takes), wait until each answers
#   deploy/inference.sh stop                 stop them (SIGTERM, then SIGKILL after a timeout)
#   deploy/inference.sh status               exit 0 only if every started server answers
#   deploy/inference.sh env                  print the settings that point hopgraph at them
#
# Ports: HOPGRAPH_INFERENCE_PORT (default 8091) and up. Threads per server: HOPGRAPH_INFERENCE_THREADS
# (default 1). Python: HOPGRAPH_PYTHON (default: the repository's .venv, else python3). Model files come
# from the model cache (HOPGRAPH_MODEL_CACHE_DIR, default DATA_DIR/models): nothing is downloaded.
set -euo pipefail

# shellcheck source=deploy/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ENV_FILE="$SDIR/inference.env"
BASE_PORT="${HOPGRAPH_INFERENCE_PORT:-8091}"
THREADS="${HOPGRAPH_INFERENCE_THREADS:-1}"
START_TIMEOUT="${HOPGRAPH_INFERENCE_START_TIMEOUT:-120}"
STOP_TIMEOUT="${HOPGRAPH_INFERENCE_STOP_TIMEOUT:-20}"

log() { printf '[inference] %s\n' "$*" >&2; }

answers() { http_ok "$1" /v1/models; }  # answers PORT: the server lists its models

pid_files() { compgen -G "$RUN_DIR/inference-*.pid" || true; }

start() {
  local n="${1:-2}" reader="${2:-fast}" model port pid
  model="$(cd "$REPO_DIR" && "$PY" -m api.cli models path "$reader")"
  : > "$ENV_FILE.tmp"
  local urls=()
  for ((i = 0; i < n; i++)); do
    port=$((BASE_PORT + i))
    if [[ -f "$RUN_DIR/inference-$port.pid" ]] && running "$(cat "$RUN_DIR/inference-$port.pid")"; then
      log "port $port: already running"
    else
      (cd "$REPO_DIR" && exec "$PY" -m llama_cpp.server --model "$model" --model_alias hopgraph-reader \
        --host 127.0.0.1 --port "$port" --n_threads "$THREADS" --n_threads_batch "$THREADS" --n_ctx 4096 \
        >"$LOG_DIR/inference-$port.log" 2>&1) &
      echo $! > "$RUN_DIR/inference-$port.pid"
    fi
    urls+=("http://127.0.0.1:$port/v1")
  done
  local deadline=$((SECONDS + START_TIMEOUT))
  for ((i = 0; i < n; i++)); do
    port=$((BASE_PORT + i))
    until answers "$port"; do
      pid="$(cat "$RUN_DIR/inference-$port.pid")"
      if ! running "$pid"; then
        log "port $port: the server exited; its log:"; tail -20 "$LOG_DIR/inference-$port.log" >&2; exit 1
      fi
      if ((SECONDS > deadline)); then log "port $port: not answering after ${START_TIMEOUT}s"; exit 1; fi
      sleep 0.5
    done
    log "port $port: answering ($(basename "$model"))"
  done
  local joined
  joined="$(IFS=,; echo "${urls[*]}")"
  printf 'export HOPGRAPH_LLM_BACKEND=openai\nexport HOPGRAPH_LLM_ENDPOINTS=%s\n' "$joined" > "$ENV_FILE"
  rm -f "$ENV_FILE.tmp"
  log "settings in $ENV_FILE"
}

stop() {
  local f pid
  for f in $(pid_files); do
    pid="$(cat "$f")"
    if running "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      for ((t = 0; t < STOP_TIMEOUT * 10; t++)); do running "$pid" || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
  rm -f "$ENV_FILE"
}

status() {
  local f port ok=0
  for f in $(pid_files); do
    port="${f##*inference-}"; port="${port%.pid}"
    if answers "$port"; then log "port $port: answering"; else log "port $port: not answering"; ok=1; fi
  done
  return $ok
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  env) cat "$ENV_FILE" ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
