#!/usr/bin/env bash
# hopgraph local services: Neo4j Community (from Maven Central jars, run on the
# JDK), Weaviate (built from its Go module) and PostgreSQL (Debian's packages: the
# shared server state of API replicas), all bound to 127.0.0.1 only.
#
#   deploy/services.sh start  [neo4j|weaviate|postgres]   build if needed, start, wait healthy
#   deploy/services.sh stop   [neo4j|weaviate]   stop (SIGTERM, then SIGKILL after a timeout)
#   deploy/services.sh restart [neo4j|weaviate]
#   deploy/services.sh status [neo4j|weaviate]   exit 0 only if every named service is healthy
#   deploy/services.sh build  [neo4j|weaviate]   fetch/build only, start nothing
#   deploy/services.sh env                       print $HOPGRAPH_SERVICES_DIR/env
#
# The target weaviate-cluster (never part of "all") is a 3-node Weaviate cluster on 127.0.0.1,
# one process per node (weaviate-n1..n3), for replication and failover: its settings are in
# $HOPGRAPH_SERVICES_DIR/weaviate-cluster.env; "start weaviate-cluster" also restarts a node that died.
#
# See deploy/README.md for the environment variables.
set -euo pipefail

# ---------------------------------------------------------------- settings ---
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$DEPLOY_DIR/.." && pwd)"

SDIR="${HOPGRAPH_SERVICES_DIR:-$REPO_DIR/.services}"
mkdir -p "$SDIR"
SDIR="$(cd "$SDIR" && pwd)"

HOST=127.0.0.1
NEO4J_BOLT_PORT="${HOPGRAPH_NEO4J_BOLT_PORT:-7687}"
NEO4J_HEAP="${HOPGRAPH_NEO4J_HEAP:-768m}"
NEO4J_PAGECACHE="${HOPGRAPH_NEO4J_PAGECACHE:-256m}"
WEAVIATE_HTTP_PORT="${HOPGRAPH_WEAVIATE_HTTP_PORT:-8080}"
WEAVIATE_GRPC_PORT="${HOPGRAPH_WEAVIATE_GRPC_PORT:-50051}"
WEAVIATE_GOSSIP_PORT="${HOPGRAPH_WEAVIATE_GOSSIP_PORT:-7946}"
WEAVIATE_DATA_PORT="${HOPGRAPH_WEAVIATE_DATA_PORT:-$((WEAVIATE_GOSSIP_PORT + 1))}"
WEAVIATE_RAFT_PORT="${HOPGRAPH_WEAVIATE_RAFT_PORT:-8300}"
WEAVIATE_RAFT_RPC_PORT="${HOPGRAPH_WEAVIATE_RAFT_RPC_PORT:-$((WEAVIATE_RAFT_PORT + 1))}"
WEAVIATE_GOMEMLIMIT="${HOPGRAPH_WEAVIATE_GOMEMLIMIT:-2GiB}"
PG_PORT="${HOPGRAPH_POSTGRES_PORT:-55432}"
# The 3-node cluster: node i (1..3) listens on HTTP base+i-1, gRPC base+i-1, gossip base+2(i-1) (data port
# gossip+1), raft base+2(i-1) (internal RPC raft+1).
WEAVIATE_CLUSTER_SIZE=3
WEAVIATE_CLUSTER_HTTP_PORT="${HOPGRAPH_WEAVIATE_CLUSTER_HTTP_PORT:-8181}"
WEAVIATE_CLUSTER_GRPC_PORT="${HOPGRAPH_WEAVIATE_CLUSTER_GRPC_PORT:-50151}"
WEAVIATE_CLUSTER_GOSSIP_PORT="${HOPGRAPH_WEAVIATE_CLUSTER_GOSSIP_PORT:-7960}"
WEAVIATE_CLUSTER_RAFT_PORT="${HOPGRAPH_WEAVIATE_CLUSTER_RAFT_PORT:-8320}"
WEAVIATE_CLUSTER_GOMEMLIMIT="${HOPGRAPH_WEAVIATE_CLUSTER_GOMEMLIMIT:-1GiB}"
START_TIMEOUT="${HOPGRAPH_SERVICES_START_TIMEOUT:-180}"
# Per-user cache of built weaviate-server binaries, shared by every checkout
# (CI clones the repo afresh each run); empty value disables it.
CACHE_DIR="${HOPGRAPH_SERVICES_CACHE-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/hopgraph-services}"
STOP_TIMEOUT="${HOPGRAPH_SERVICES_STOP_TIMEOUT:-60}"

# Pinned versions. Neo4j's lives in deploy/neo4j/pom.xml (read back here).
WEAVIATE_MODULE=github.com/weaviate/weaviate
WEAVIATE_VERSION=v1.38.13
# Bump when the loopback patch in build_weaviate changes (forces a rebuild).
WEAVIATE_PATCH_REV=loopback1
WEAVIATE_NODE=hopgraph-node1 # CLUSTER_HOSTNAME; the raft state remembers it: keep it fixed

PG_HOME="$SDIR/postgres"
# Run as root, PostgreSQL runs as the postgres user, who must reach its directory: when the services directory
# is not open to it (e.g. a checkout under a private home), the cluster lives under postgres's own home instead.
if [[ "$(id -u)" -eq 0 ]] && getent passwd postgres >/dev/null 2>&1 &&
    ! setpriv --reuid=postgres --regid=postgres --init-groups -- test -x "$SDIR" 2>/dev/null; then
    PG_HOME="$(getent passwd postgres | cut -d: -f6)/hopgraph-$(printf '%s' "$SDIR" | sha256sum | cut -c1-12)"
fi
NEO4J_POM="$DEPLOY_DIR/neo4j/pom.xml"
NEO4J_HOME="$SDIR/neo4j"
NEO4J_LIB="$NEO4J_HOME/lib"
WEAVIATE_BIN_DIR="$SDIR/weaviate/bin"
WEAVIATE_BIN="$WEAVIATE_BIN_DIR/weaviate-server"
RUN_DIR="$SDIR/run"
LOG_DIR="$SDIR/logs"
SECRETS_DIR="$SDIR/secrets"
ENV_FILE="$SDIR/env"
mkdir -p "$RUN_DIR" "$LOG_DIR"

# ----------------------------------------------------------------- helpers ---
log() { printf '[services] %s\n' "$*" >&2; }

# die STEP MESSAGE [LOGFILE...]: names the failed step and shows the log tails.
die() {
    local step="$1" msg="$2"
    shift 2
    printf '[services] FAILED at step "%s": %s\n' "$step" "$msg" >&2
    local f
    for f in "$@"; do
        if [[ -s "$f" ]]; then
            printf '[services] ---- last 40 lines of %s ----\n' "$f" >&2
            tail -n 40 "$f" >&2 || true
            printf '[services] ---- end of %s ----\n' "$f" >&2
        fi
    done
    exit 1
}

now() { date +%s; }

port_open() { # port_open PORT -> 0 when something accepts TCP on 127.0.0.1:PORT
    timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}

gen_secret() { # 32 alphanumeric characters from the kernel's CSPRNG
    local s=""
    while ((${#s} < 32)); do
        s+="$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
    done
    printf '%s' "${s:0:32}"
}

secret() { # secret NAME -> prints the persisted secret, generating it once
    local f="$SECRETS_DIR/$1"
    if [[ ! -s "$f" ]]; then
        (umask 077 && mkdir -p "$SECRETS_DIR" && gen_secret >"$f.tmp" && mv "$f.tmp" "$f")
    fi
    cat "$f"
}

pid_of() { # pid_of SERVICE -> prints the pid when our process is alive
    local pf="$RUN_DIR/$1.pid" pid pattern
    [[ -s "$pf" ]] || return 1
    pid="$(cat "$pf")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    case "$1" in
        neo4j) pattern="org.neo4j.server.CommunityEntryPoint" ;;
        weaviate | weaviate-n[0-9]) pattern="$WEAVIATE_BIN" ;;
        postgres) pattern="$PG_HOME/data" ;;
    esac
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern" || return 1
    printf '%s' "$pid"
}

# Ports of a running service are recorded at start, so status/env use the
# ports it really listens on even if the environment changed since.
saved_port() { # saved_port SERVICE KEY DEFAULT
    local f="$RUN_DIR/$1.ports" v
    if pid_of "$1" >/dev/null && [[ -f "$f" ]]; then
        v="$(sed -n "s/^$2=//p" "$f")"
        [[ -n "$v" ]] && { printf '%s' "$v"; return; }
    fi
    printf '%s' "$3"
}

pick_python() { # a Python that can import $1 (empty if none)
    local p
    for p in "${HOPGRAPH_PYTHON:-}" "$REPO_DIR/.venv/bin/python" python3; do
        [[ -n "$p" ]] || continue
        command -v "$p" >/dev/null 2>&1 || continue
        "$p" -c "import $1" >/dev/null 2>&1 && { printf '%s' "$p"; return 0; }
    done
    return 0
}

# ------------------------------------------------------------------- neo4j ---
neo4j_version() {
    sed -n 's:.*<neo4j.version>\(.*\)</neo4j.version>.*:\1:p' "$NEO4J_POM" | head -n1
}

neo4j_stamp() {
    printf 'neo4j %s pom-sha256 %s\n' "$(neo4j_version)" "$(sha256sum "$NEO4J_POM" | cut -d' ' -f1)"
}

java_bin() {
    local j="${HOPGRAPH_JAVA:-}"
    if [[ -z "$j" && -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then j="$JAVA_HOME/bin/java"; fi
    [[ -n "$j" ]] || j="$(command -v java || true)"
    [[ -n "$j" ]] || die "neo4j: find java" "no java on PATH (set JAVA_HOME or HOPGRAPH_JAVA; Neo4j 5.26 needs JDK 17 or 21)"
    printf '%s' "$j"
}

build_neo4j() {
    local stamp
    stamp="$(neo4j_stamp)"
    if [[ -f "$NEO4J_LIB/.hopgraph-stamp" && "$(cat "$NEO4J_LIB/.hopgraph-stamp")" == "$stamp" ]]; then
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || die "neo4j: fetch jars" "mvn not found (apt-get install maven)"
    log "neo4j: fetching Neo4j $(neo4j_version) jars with Maven (first time only)..."
    local t0 blog="$LOG_DIR/build-neo4j.log"
    t0="$(now)"
    rm -rf "$NEO4J_LIB.tmp"
    if ! mvn -B -f "$NEO4J_POM" dependency:copy-dependencies \
        -DoutputDirectory="$NEO4J_LIB.tmp" >"$blog" 2>&1; then
        die "neo4j: fetch jars (mvn dependency:copy-dependencies)" "maven failed" "$blog"
    fi
    ls "$NEO4J_LIB.tmp"/neo4j-server-*.jar >/dev/null 2>&1 ||
        die "neo4j: fetch jars" "neo4j-server jar missing after Maven ran" "$blog"
    printf '%s' "$stamp" >"$NEO4J_LIB.tmp/.hopgraph-stamp"
    rm -rf "$NEO4J_LIB"
    mv "$NEO4J_LIB.tmp" "$NEO4J_LIB"
    log "neo4j: jars ready in $(($(now) - t0))s ($(find "$NEO4J_LIB" -name "*.jar" | wc -l) jars)"
}

write_neo4j_conf() {
    mkdir -p "$NEO4J_HOME"/{conf,data,logs,run,import,plugins}
    cat >"$NEO4J_HOME/conf/neo4j.conf.tmp" <<EOF
# Generated by deploy/services.sh on every start; edits are overwritten.
server.directories.data=$NEO4J_HOME/data
server.directories.logs=$NEO4J_HOME/logs
server.directories.run=$NEO4J_HOME/run
server.directories.import=$NEO4J_HOME/import
server.directories.plugins=$NEO4J_HOME/plugins
server.directories.lib=$NEO4J_LIB
server.default_listen_address=$HOST
server.default_advertised_address=$HOST
server.bolt.enabled=true
server.bolt.listen_address=$HOST:$NEO4J_BOLT_PORT
server.bolt.advertised_address=$HOST:$NEO4J_BOLT_PORT
server.bolt.tls_level=DISABLED
server.http.enabled=false
server.https.enabled=false
dbms.security.auth_enabled=true
dbms.usage_report.enabled=false
server.memory.heap.initial_size=$NEO4J_HEAP
server.memory.heap.max_size=$NEO4J_HEAP
server.memory.pagecache.size=$NEO4J_PAGECACHE
db.tx_log.rotation.retention_policy=2 files
db.tx_log.rotation.size=64M
db.tx_log.preallocate=false
EOF
    mv "$NEO4J_HOME/conf/neo4j.conf.tmp" "$NEO4J_HOME/conf/neo4j.conf"
}

neo4j_set_password() {
    local pwfile="$SECRETS_DIR/neo4j_password" alog="$LOG_DIR/neo4j-admin.log"
    if [[ -f "$NEO4J_HOME/data/dbms/auth.ini" || -d "$NEO4J_HOME/data/databases/system" ]]; then
        [[ -s "$pwfile" ]] || die "neo4j: initial password" \
            "the database in $NEO4J_HOME/data exists but $pwfile is missing; delete $NEO4J_HOME/data to reset"
        return 0
    fi
    local pw java
    pw="$(secret neo4j_password)"
    java="$(java_bin)"
    log "neo4j: setting the generated initial password (neo4j-admin dbms set-initial-password)"
    # shellcheck disable=SC2097,SC2098 # exporting the script's own NEO4J_HOME to the tool
    if ! NEO4J_HOME="$NEO4J_HOME" NEO4J_CONF="$NEO4J_HOME/conf" \
        "$java" -Xmx256m -cp "$NEO4J_LIB/*" org.neo4j.cli.AdminTool \
        dbms set-initial-password "$pw" >"$alog" 2>&1; then
        die "neo4j: initial password (neo4j-admin dbms set-initial-password)" "admin tool failed" "$alog"
    fi
}

launch_neo4j() {
    local pid
    if pid="$(pid_of neo4j)"; then
        log "neo4j: already running (pid $pid)"
        return 0
    fi
    rm -f "$RUN_DIR/neo4j.pid" "$RUN_DIR/neo4j.ports"
    port_open "$NEO4J_BOLT_PORT" &&
        die "neo4j: start" "port $HOST:$NEO4J_BOLT_PORT is already in use by another process (set HOPGRAPH_NEO4J_BOLT_PORT)"
    build_neo4j
    write_neo4j_conf
    neo4j_set_password
    local java clog="$LOG_DIR/neo4j.console.log"
    java="$(java_bin)"
    log "neo4j: starting on bolt://$HOST:$NEO4J_BOLT_PORT"
    : >"$clog"
    # Neo4j's own entry point; JVM flags follow the defaults of Neo4j's neo4j.conf.
    setsid "$java" \
        -Xms"$NEO4J_HEAP" -Xmx"$NEO4J_HEAP" \
        -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow -XX:+ExitOnOutOfMemoryError \
        -XX:+UnlockExperimentalVMOptions -XX:+TrustFinalNonStaticFields -XX:+DisableExplicitGC \
        -Djdk.nio.maxCachedBufferSize=1024 -Dio.netty.tryReflectionSetAccessible=true \
        -Djdk.tls.ephemeralDHKeySize=2048 -Djdk.tls.rejectClientInitiatedRenegotiation=true \
        -Dlog4j2.disable.jmx=true -Dfile.encoding=UTF-8 \
        --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
        --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --enable-native-access=ALL-UNNAMED \
        -cp "$NEO4J_LIB/*" org.neo4j.server.CommunityEntryPoint \
        --home-dir="$NEO4J_HOME" --config-dir="$NEO4J_HOME/conf" \
        </dev/null >>"$clog" 2>&1 9>&- &
    echo $! >"$RUN_DIR/neo4j.pid"
    printf 'bolt=%s\n' "$NEO4J_BOLT_PORT" >"$RUN_DIR/neo4j.ports"
}

neo4j_healthy() { # neo4j_healthy PORT -> 0 when a Cypher RETURN 1 works (or the Bolt handshake, without the driver)
    local port="$1" py
    port_open "$port" || return 1
    py="$(pick_python neo4j)"
    if [[ -n "$py" ]]; then
        NEO4J_PW="$(cat "$SECRETS_DIR/neo4j_password" 2>/dev/null)" NEO4J_URI="bolt://$HOST:$port" \
            timeout 20 "$py" - >/dev/null 2>&1 <<'EOF'
import os, sys
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError
try:
    with GraphDatabase.driver(os.environ["NEO4J_URI"], auth=("neo4j", os.environ["NEO4J_PW"]),
                              connection_timeout=5) as d:
        recs, _, _ = d.execute_query("RETURN 1 AS ok")
        sys.exit(0 if recs[0]["ok"] == 1 else 1)
except AuthError:
    sys.exit(3)
EOF
        return
    fi
    py="$(pick_python socket)"
    if [[ -n "$py" ]]; then # Bolt handshake: magic + 4 version proposals; a Bolt server answers a version
        timeout 10 "$py" - "$port" >/dev/null 2>&1 <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(bytes.fromhex("6060B017" "00000005" "00000404" "00000000" "00000000"))
v = s.recv(4)
sys.exit(0 if len(v) == 4 and v != b"\0\0\0\0" else 1)
EOF
        return
    fi
    return 0 # port answers; nothing better available
}

wait_neo4j() {
    local t0 pid port rc
    t0="$(now)"
    port="$(saved_port neo4j bolt "$NEO4J_BOLT_PORT")"
    while :; do
        if ! pid="$(pid_of neo4j)"; then
            die "neo4j: wait for health" "the Neo4j process exited during startup" \
                "$NEO4J_HOME/logs/neo4j.log" "$LOG_DIR/neo4j.console.log" "$NEO4J_HOME/logs/debug.log"
        fi
        rc=0
        neo4j_healthy "$port" || rc=$?
        ((rc == 0)) && break
        ((rc == 3)) && die "neo4j: wait for health" "Neo4j rejected the password in $SECRETS_DIR/neo4j_password; \
the data in $NEO4J_HOME/data was created with another one (stop, delete that folder, start again)"
        if (($(now) - t0 > START_TIMEOUT)); then
            die "neo4j: wait for health" "not healthy after ${START_TIMEOUT}s (pid $pid still running)" \
                "$NEO4J_HOME/logs/neo4j.log" "$LOG_DIR/neo4j.console.log"
        fi
        sleep 1
    done
    log "neo4j: healthy on bolt://$HOST:$port (pid $pid, waited $(($(now) - t0))s)"
}

# ---------------------------------------------------------------- weaviate ---
weaviate_stamp() {
    printf 'weaviate %s %s %s\n' "$WEAVIATE_VERSION" "$WEAVIATE_PATCH_REV" "$(go env GOVERSION 2>/dev/null || echo go?)"
}

build_weaviate() {
    command -v go >/dev/null 2>&1 || die "weaviate: build" "go not found (Go >= 1.26 is needed)"
    local stamp cached=""
    stamp="$(weaviate_stamp)"
    [[ -n "$CACHE_DIR" ]] && cached="$CACHE_DIR/weaviate-server-$(printf '%s' "$stamp" | sha256sum | cut -c1-16)"
    if [[ -x "$WEAVIATE_BIN" && -f "$WEAVIATE_BIN_DIR/.hopgraph-stamp" &&
        "$(cat "$WEAVIATE_BIN_DIR/.hopgraph-stamp")" == "$stamp" ]]; then
        if [[ -n "$cached" && ! -x "$cached" ]] && mkdir -p "$CACHE_DIR" 2>/dev/null; then
            { cp "$WEAVIATE_BIN" "$cached.tmp.$$" && mv "$cached.tmp.$$" "$cached"; } || rm -f "$cached.tmp.$$"
        fi
        return 0
    fi
    if [[ -n "$cached" && -x "$cached" ]]; then
        mkdir -p "$WEAVIATE_BIN_DIR"
        cp "$cached" "$WEAVIATE_BIN.tmp"
        mv "$WEAVIATE_BIN.tmp" "$WEAVIATE_BIN"
        printf '%s' "$stamp" >"$WEAVIATE_BIN_DIR/.hopgraph-stamp"
        log "weaviate: reused the binary built earlier ($cached)"
        return 0
    fi
    local t0 blog="$LOG_DIR/build-weaviate.log" src="$SDIR/weaviate/src" moddir
    t0="$(now)"
    log "weaviate: building weaviate-server $WEAVIATE_VERSION from its Go module (first time only, several minutes)..."
    : >"$blog"
    # Download the pinned module (checked against the Go checksum database) into the module cache.
    moddir="$(cd / && GOFLAGS='' go mod download -json "$WEAVIATE_MODULE@$WEAVIATE_VERSION" 2>>"$blog" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" || true
    [[ -n "$moddir" && -f "$moddir/go.mod" ]] ||
        die "weaviate: build (go mod download $WEAVIATE_MODULE@$WEAVIATE_VERSION)" "module download failed" "$blog"
    rm -rf "$src"
    mkdir -p "$(dirname "$src")"
    cp -R "$moddir" "$src"
    chmod -R u+w "$src"
    # Loopback patch: upstream binds gRPC, the cluster data API, the metrics and
    # the profiling listeners to ":port" (all interfaces) with no setting to
    # change it; make them bind to 127.0.0.1 like the REST API (--host) and the
    # gossip/raft listeners (CLUSTER_BIND_ADDR).
    local f n total=0
    for f in adapters/handlers/grpc/server.go \
        adapters/handlers/rest/configure_api.go \
        adapters/handlers/rest/clusterapi/grpc/server.go \
        adapters/handlers/rest/clusterapi/serve.go; do
        n="$(grep -c 'Sprintf(":%d"' "$src/$f" || true)"
        total=$((total + n))
        sed -i 's/Sprintf(":%d"/Sprintf("127.0.0.1:%d"/g' "$src/$f"
    done
    [[ "$total" -eq 5 ]] || die "weaviate: build (loopback patch)" \
        "expected 5 listener addresses to patch in $WEAVIATE_VERSION, found $total; review build_weaviate in $0"
    if grep -rn --include='*.go' 'Sprintf(":%d"' "$src/adapters" "$src/cluster" "$src/usecases" | grep -v '_test.go' >>"$blog"; then
        die "weaviate: build (loopback patch)" "unpatched listen addresses remain" "$blog"
    fi
    mkdir -p "$WEAVIATE_BIN_DIR"
    if ! (cd "$src" && GOFLAGS="-p=2 -buildvcs=false -mod=readonly" GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" \
        go build -trimpath -ldflags="-s -w -X $WEAVIATE_MODULE/usecases/build.Branch=$WEAVIATE_VERSION -X $WEAVIATE_MODULE/usecases/build.BuildUser=hopgraph-deploy" \
        -o "$WEAVIATE_BIN.tmp" ./cmd/weaviate-server) >>"$blog" 2>&1; then
        die "weaviate: build (go build ./cmd/weaviate-server)" "go build failed" "$blog"
    fi
    mv "$WEAVIATE_BIN.tmp" "$WEAVIATE_BIN"
    printf '%s' "$stamp" >"$WEAVIATE_BIN_DIR/.hopgraph-stamp"
    rm -rf "$src"
    if [[ -n "$cached" ]] && mkdir -p "$CACHE_DIR" 2>/dev/null; then
        { cp "$WEAVIATE_BIN" "$cached.tmp.$$" && mv "$cached.tmp.$$" "$cached"; } || rm -f "$cached.tmp.$$"
    fi
    log "weaviate: built in $(($(now) - t0))s"
}

# run_weaviate SERVICE NODE_NAME DATA_DIR HTTP GRPC GOSSIP RAFT RAFT_JOIN BOOTSTRAP_EXPECT CLUSTER_JOIN GOMEMLIMIT
# Starts one weaviate-server process (detached) and records its pid and ports under the service name.
run_weaviate() {
    local svc="$1" node="$2" data="$3" http="$4" grpc="$5" gossip="$6" raft="$7" raft_join="$8" expect="$9"
    local join="${10}" memlimit="${11}" key p localhost=false wlog="$LOG_DIR/$1.log"
    rm -f "$RUN_DIR/$svc.pid" "$RUN_DIR/$svc.ports"
    for p in "$http" "$grpc" "$gossip" "$((gossip + 1))" "$raft" "$((raft + 1))"; do
        port_open "$p" && die "$svc: start" \
            "port $HOST:$p is already in use by another process (see the HOPGRAPH_WEAVIATE_*PORT settings in deploy/README.md)"
    done
    build_weaviate
    key="$(secret weaviate_api_key)"
    mkdir -p "$data"
    # A cluster on one host: memberlist's local profile (fast failure detection), node addresses 127.0.0.1.
    [[ "$expect" -gt 1 ]] && localhost=true
    log "$svc: starting on http://$HOST:$http (gRPC $grpc)"
    # env -i: a clean environment, so that no stray WEAVIATE/cluster/module
    # setting of the caller leaks in.
    env -i PATH="/usr/bin:/bin" HOME="$(dirname "$data")" TZ=UTC \
        PERSISTENCE_DATA_PATH="$data" \
        DEFAULT_VECTORIZER_MODULE=none \
        ENABLE_MODULES= \
        AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=false \
        AUTHENTICATION_APIKEY_ENABLED=true \
        AUTHENTICATION_APIKEY_ALLOWED_KEYS="$key" \
        AUTHENTICATION_APIKEY_USERS=hopgraph \
        DISABLE_TELEMETRY=true \
        PROMETHEUS_MONITORING_ENABLED=false \
        GO_PROFILING_DISABLE=true \
        QUERY_DEFAULTS_LIMIT=25 \
        GRPC_PORT="$grpc" \
        CLUSTER_HOSTNAME="$node" \
        CLUSTER_BIND_ADDR="$HOST" \
        CLUSTER_ADVERTISE_ADDR="$HOST" \
        CLUSTER_IN_LOCALHOST="$localhost" \
        CLUSTER_GOSSIP_BIND_PORT="$gossip" \
        CLUSTER_DATA_BIND_PORT="$((gossip + 1))" \
        CLUSTER_JOIN="$join" \
        RAFT_PORT="$raft" \
        RAFT_INTERNAL_RPC_PORT="$((raft + 1))" \
        RAFT_JOIN="$raft_join" \
        RAFT_BOOTSTRAP_EXPECT="$expect" \
        RAFT_TIMEOUTS_MULTIPLIER=1 \
        GOMEMLIMIT="$memlimit" \
        LOG_FORMAT=text \
        LOG_LEVEL=info \
        setsid "$WEAVIATE_BIN" --host "$HOST" --port "$http" --scheme http \
        </dev/null >>"$wlog" 2>&1 9>&- &
    echo $! >"$RUN_DIR/$svc.pid"
    printf 'http=%s\ngrpc=%s\n' "$http" "$grpc" >"$RUN_DIR/$svc.ports"
}

launch_weaviate() {
    local pid
    if pid="$(pid_of weaviate)"; then
        log "weaviate: already running (pid $pid)"
        return 0
    fi
    [[ "$WEAVIATE_DATA_PORT" -eq $((WEAVIATE_GOSSIP_PORT + 1)) ]] ||
        die "weaviate: start" "HOPGRAPH_WEAVIATE_DATA_PORT must be the gossip port + 1"
    [[ "$WEAVIATE_RAFT_RPC_PORT" -eq $((WEAVIATE_RAFT_PORT + 1)) ]] ||
        die "weaviate: start" "HOPGRAPH_WEAVIATE_RAFT_RPC_PORT must be the raft port + 1"
    run_weaviate weaviate "$WEAVIATE_NODE" "$SDIR/weaviate/data" "$WEAVIATE_HTTP_PORT" "$WEAVIATE_GRPC_PORT" \
        "$WEAVIATE_GOSSIP_PORT" "$WEAVIATE_RAFT_PORT" "$WEAVIATE_NODE:$WEAVIATE_RAFT_PORT" 1 "" "$WEAVIATE_GOMEMLIMIT"
}

# cluster_port BASE NODE STEP -> the port of node NODE (1-based)
cluster_port() { printf '%s' $(($1 + ($2 - 1) * $3)); }

launch_weaviate_cluster() {
    local i j pid raft_join="" others
    for ((i = 1; i <= WEAVIATE_CLUSTER_SIZE; i++)); do
        raft_join+="${raft_join:+,}hopgraph-cluster-$i:$(cluster_port "$WEAVIATE_CLUSTER_RAFT_PORT" "$i" 2)"
    done
    for ((i = 1; i <= WEAVIATE_CLUSTER_SIZE; i++)); do
        if pid="$(pid_of "weaviate-n$i")"; then
            log "weaviate-n$i: already running (pid $pid)"
            continue
        fi
        others=""
        for ((j = 1; j <= WEAVIATE_CLUSTER_SIZE; j++)); do
            ((j == i)) || others+="${others:+,}$HOST:$(cluster_port "$WEAVIATE_CLUSTER_GOSSIP_PORT" "$j" 2)"
        done
        run_weaviate "weaviate-n$i" "hopgraph-cluster-$i" "$SDIR/weaviate-cluster/node$i/data" \
            "$(cluster_port "$WEAVIATE_CLUSTER_HTTP_PORT" "$i" 1)" "$(cluster_port "$WEAVIATE_CLUSTER_GRPC_PORT" "$i" 1)" \
            "$(cluster_port "$WEAVIATE_CLUSTER_GOSSIP_PORT" "$i" 2)" "$(cluster_port "$WEAVIATE_CLUSTER_RAFT_PORT" "$i" 2)" \
            "$raft_join" "$WEAVIATE_CLUSTER_SIZE" "$others" "$WEAVIATE_CLUSTER_GOMEMLIMIT"
    done
}

weaviate_healthy() { # weaviate_healthy HTTP_PORT GRPC_PORT
    curl -fsS -o /dev/null -m 3 "http://$HOST:$1/v1/.well-known/ready" 2>/dev/null || return 1
    port_open "$2" || return 1
    # the API key must be accepted (and is the only way in: anonymous access is off)
    curl -fsS -o /dev/null -m 3 -H "Authorization: Bearer $(cat "$SECRETS_DIR/weaviate_api_key" 2>/dev/null)" \
        "http://$HOST:$1/v1/meta" 2>/dev/null
}

wait_weaviate() { # wait_weaviate [SERVICE]
    local svc="${1:-weaviate}" t0 pid http grpc
    t0="$(now)"
    http="$(saved_port "$svc" http "$WEAVIATE_HTTP_PORT")"
    grpc="$(saved_port "$svc" grpc "$WEAVIATE_GRPC_PORT")"
    while :; do
        if ! pid="$(pid_of "$svc")"; then
            die "$svc: wait for health" "the Weaviate process exited during startup" "$LOG_DIR/$svc.log"
        fi
        weaviate_healthy "$http" "$grpc" && break
        if (($(now) - t0 > START_TIMEOUT)); then
            die "$svc: wait for health" "not ready after ${START_TIMEOUT}s (pid $pid still running)" "$LOG_DIR/$svc.log"
        fi
        sleep 0.5
    done
    log "$svc: healthy on http://$HOST:$http grpc $grpc (pid $pid, waited $(($(now) - t0))s)"
}

wait_weaviate_cluster() {
    local i
    for ((i = 1; i <= WEAVIATE_CLUSTER_SIZE; i++)); do wait_weaviate "weaviate-n$i"; done
    write_cluster_env
}

build_weaviate_cluster() { build_weaviate; }

stop_weaviate_cluster() {
    local i
    for ((i = 1; i <= WEAVIATE_CLUSTER_SIZE; i++)); do stop_one "weaviate-n$i"; done
}

status_weaviate_cluster() {
    local i rc=0
    for ((i = 1; i <= WEAVIATE_CLUSTER_SIZE; i++)); do status_one "weaviate-n$i" || rc=1; done
    return "$rc"
}

write_cluster_env() { # the settings that point hopgraph at the cluster: every node, replication factor 3
    local i nodes="" tmp="$SDIR/weaviate-cluster.env.tmp"
    for ((i = 1; i <= WEAVIATE_CLUSTER_SIZE; i++)); do
        nodes+="${nodes:+,}$HOST:$(cluster_port "$WEAVIATE_CLUSTER_HTTP_PORT" "$i" 1):$(cluster_port "$WEAVIATE_CLUSTER_GRPC_PORT" "$i" 1)"
    done
    (
        umask 077
        cat >"$tmp" <<EOF
export HOPGRAPH_WEAVIATE_NODES=$nodes
export HOPGRAPH_WEAVIATE_REPLICATION_FACTOR=$WEAVIATE_CLUSTER_SIZE
export HOPGRAPH_WEAVIATE_API_KEY=$(secret weaviate_api_key)
EOF
    )
    mv "$tmp" "$SDIR/weaviate-cluster.env"
}

# ---------------------------------------------------------------- postgres ---
# The server state of API replicas (server_db_url): PostgreSQL from Debian's packages, one cluster in
# $SDIR/postgres, user and database "hopgraph" with a generated password, TCP on 127.0.0.1 only.
pg_bin() { # the directory of PostgreSQL's server binaries
    local d
    for d in "${HOPGRAPH_PG_BINDIR:-}" "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
        [[ -n "$d" && -x "$d/postgres" && -x "$d/initdb" ]] && { printf '%s' "$d"; return 0; }
    done
    die "postgres: find binaries" "PostgreSQL's server binaries not found (bash deploy/debian-tools.sh installs them; or set HOPGRAPH_PG_BINDIR)"
}

as_pg() { # run as the postgres user when root (PostgreSQL refuses to run as root), else as is
    if [[ "$(id -u)" -eq 0 ]]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi
}

build_postgres() { pg_bin >/dev/null; }

launch_postgres() {
    local pid bin plog="$LOG_DIR/postgres.log"
    if pid="$(pid_of postgres)"; then
        log "postgres: already running (pid $pid)"
        return 0
    fi
    rm -f "$RUN_DIR/postgres.pid" "$RUN_DIR/postgres.ports"
    port_open "$PG_PORT" && die "postgres: start" "port $HOST:$PG_PORT is already in use by another process (set HOPGRAPH_POSTGRES_PORT)"
    bin="$(pg_bin)"
    mkdir -p "$PG_HOME/run"
    : >>"$plog"
    [[ "$(id -u)" -eq 0 ]] && chown postgres: "$PG_HOME" "$PG_HOME/run" "$plog"
    if [[ ! -s "$PG_HOME/data/PG_VERSION" ]]; then
        local pwfile="$PG_HOME/.pw"
        rm -rf "$PG_HOME/data"
        (umask 077 && secret postgres_password >"$pwfile")
        [[ "$(id -u)" -eq 0 ]] && chown postgres: "$pwfile"
        log "postgres: creating the cluster in $PG_HOME/data (initdb)"
        if ! as_pg "$bin/initdb" -D "$PG_HOME/data" -U hopgraph --pwfile="$pwfile" --auth=scram-sha-256 \
            -E UTF8 --no-locale >>"$plog" 2>&1; then
            rm -f "$pwfile"
            die "postgres: initdb" "initdb failed" "$plog"
        fi
        rm -f "$pwfile"
    fi
    log "postgres: starting on $HOST:$PG_PORT"
    local -a as=()  # not through as_pg: a function run in the background would be a subshell, not the server
    [[ "$(id -u)" -eq 0 ]] && as=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    "${as[@]}" setsid "$bin/postgres" -D "$PG_HOME/data" -c listen_addresses="$HOST" -p "$PG_PORT" \
        -c unix_socket_directories="$PG_HOME/run" -c max_connections=200 -c shared_buffers=64MB \
        </dev/null >>"$plog" 2>&1 9>&- &
    echo $! >"$RUN_DIR/postgres.pid"
    printf 'port=%s\n' "$PG_PORT" >"$RUN_DIR/postgres.ports"
}

postgres_healthy() { # postgres_healthy PORT [DATABASE]
    PGPASSWORD="$(cat "$SECRETS_DIR/postgres_password" 2>/dev/null)" PGCONNECT_TIMEOUT=3 \
        psql -h "$HOST" -p "$1" -U hopgraph -d "${2:-hopgraph}" -tAc 'SELECT 1' >/dev/null 2>&1
}

wait_postgres() {
    local t0 pid port
    t0="$(now)"
    port="$(saved_port postgres port "$PG_PORT")"
    while :; do
        pid="$(pid_of postgres)" || die "postgres: wait for health" "the PostgreSQL process exited during startup" "$LOG_DIR/postgres.log"
        postgres_healthy "$port" postgres && break
        (($(now) - t0 > START_TIMEOUT)) && die "postgres: wait for health" "not ready after ${START_TIMEOUT}s" "$LOG_DIR/postgres.log"
        sleep 0.3
    done
    if ! postgres_healthy "$port"; then
        PGPASSWORD="$(secret postgres_password)" psql -h "$HOST" -p "$port" -U hopgraph -d postgres -qc \
            'CREATE DATABASE hopgraph' >>"$LOG_DIR/postgres.log" 2>&1 ||
            die "postgres: create database" "CREATE DATABASE hopgraph failed" "$LOG_DIR/postgres.log"
    fi
    log "postgres: healthy on $HOST:$port (pid $pid, waited $(($(now) - t0))s)"
}

# --------------------------------------------------------------- commands ---
write_env() {
    local tmp="$ENV_FILE.tmp"
    (
        umask 077
        cat >"$tmp" <<EOF
export HOPGRAPH_NEO4J_URI=bolt://$HOST:$(saved_port neo4j bolt "$NEO4J_BOLT_PORT")
export HOPGRAPH_NEO4J_USER=neo4j
export HOPGRAPH_NEO4J_PASSWORD=$(secret neo4j_password)
export HOPGRAPH_WEAVIATE_HOST=$HOST
export HOPGRAPH_WEAVIATE_HTTP_PORT=$(saved_port weaviate http "$WEAVIATE_HTTP_PORT")
export HOPGRAPH_WEAVIATE_GRPC_PORT=$(saved_port weaviate grpc "$WEAVIATE_GRPC_PORT")
export HOPGRAPH_WEAVIATE_API_KEY=$(secret weaviate_api_key)
export HOPGRAPH_POSTGRES_URL=postgresql://hopgraph:$(secret postgres_password)@$HOST:$(saved_port postgres port "$PG_PORT")/hopgraph
EOF
    )
    mv "$tmp" "$ENV_FILE"
}

stop_one() {
    local svc="$1" pid t0
    if ! pid="$(pid_of "$svc")"; then
        rm -f "$RUN_DIR/$svc.pid" "$RUN_DIR/$svc.ports"
        log "$svc: not running"
        return 0
    fi
    log "$svc: stopping (pid $pid)"
    t0="$(now)"
    # PostgreSQL: SIGINT is its fast shutdown (SIGTERM would wait for every client to disconnect)
    if [[ "$svc" == postgres ]]; then kill -INT "$pid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
    while kill -0 "$pid" 2>/dev/null; do
        if (($(now) - t0 >= STOP_TIMEOUT)); then
            log "$svc: still running after ${STOP_TIMEOUT}s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        sleep 0.2
    done
    rm -f "$RUN_DIR/$svc.pid" "$RUN_DIR/$svc.ports"
    log "$svc: stopped in $(($(now) - t0))s"
}

status_one() {
    local svc="$1" pid
    if ! pid="$(pid_of "$svc")"; then
        echo "$svc: stopped"
        return 1
    fi
    case "$svc" in
        neo4j)
            local port
            port="$(saved_port neo4j bolt "$NEO4J_BOLT_PORT")"
            if neo4j_healthy "$port"; then
                echo "neo4j: healthy (pid $pid, bolt://$HOST:$port)"
            else
                echo "neo4j: running but NOT healthy (pid $pid, bolt://$HOST:$port)"
                return 1
            fi
            ;;
        postgres)
            local port
            port="$(saved_port postgres port "$PG_PORT")"
            if postgres_healthy "$port"; then
                echo "postgres: healthy (pid $pid, $HOST:$port)"
            else
                echo "postgres: running but NOT healthy (pid $pid, $HOST:$port)"
                return 1
            fi
            ;;
        weaviate | weaviate-n[0-9])
            local http grpc
            http="$(saved_port "$svc" http "$WEAVIATE_HTTP_PORT")"
            grpc="$(saved_port "$svc" grpc "$WEAVIATE_GRPC_PORT")"
            if weaviate_healthy "$http" "$grpc"; then
                echo "$svc: healthy (pid $pid, http://$HOST:$http, grpc $HOST:$grpc)"
            else
                echo "$svc: running but NOT healthy (pid $pid, http://$HOST:$http, grpc $HOST:$grpc)"
                return 1
            fi
            ;;
    esac
}

lock() { # serialise start/stop/build of concurrent invocations
    exec 9>"$SDIR/.lock"
    flock 9
}

usage() {
    echo "usage: $0 start|stop|restart|status|build [neo4j|weaviate|postgres|weaviate-cluster] | env" >&2
    exit 2
}

cmd="${1:-}"
target="${2:-all}"
case "$target" in
    all) svcs=(neo4j weaviate postgres) ;;
    neo4j | weaviate | postgres) svcs=("$target") ;;
    weaviate-cluster) svcs=(weaviate_cluster) ;;
    *) usage ;;
esac

case "$cmd" in
    start)
        lock
        t_start="$(now)"
        for s in "${svcs[@]}"; do "launch_$s"; done # launch both, then wait: startups overlap
        for s in "${svcs[@]}"; do "wait_$s"; done
        [[ "$target" == weaviate-cluster ]] || write_env
        log "started ${svcs[*]} in $(($(now) - t_start))s; settings in $ENV_FILE"
        ;;
    stop)
        lock
        for s in "${svcs[@]}"; do
            if [[ "$s" == weaviate_cluster ]]; then stop_weaviate_cluster; else stop_one "$s"; fi
        done
        ;;
    restart)
        bash "$0" stop "$target"
        exec bash "$0" start "$target"
        ;;
    status)
        rc=0
        for s in "${svcs[@]}"; do
            if [[ "$s" == weaviate_cluster ]]; then status_weaviate_cluster || rc=1; else status_one "$s" || rc=1; fi
        done
        exit "$rc"
        ;;
    build)
        lock
        for s in "${svcs[@]}"; do "build_$s"; done
        log "build done: ${svcs[*]}"
        ;;
    env)
        [[ -f "$ENV_FILE" ]] || die "env" "$ENV_FILE does not exist yet; run: $0 start"
        cat "$ENV_FILE"
        ;;
    *) usage ;;
esac
