# shellcheck shell=bash
# Shared helpers for the hand-run benchmarks in bench/ (sourced, not executed).
#
# Everything listens on 127.0.0.1 only, every wait is bounded, and every process started
# through these helpers is recorded in BENCH_PIDS so that bench_cleanup (installed as an
# EXIT/INT/TERM trap by the scripts) stops exactly those processes and nothing else.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LEVEE_BIN=${LEVEE_BIN:-$BENCH_ROOT/build/bin/levee}
UPSTREAM_BIN=${UPSTREAM_BIN:-$BENCH_ROOT/build/bin/levee-upstream}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}

# Ports (override from the environment if one is taken).
UPSTREAM_PORT=${UPSTREAM_PORT:-19700}
NGINX_PORT=${NGINX_PORT:-19701}
LEVEE_PORT=${LEVEE_PORT:-19702}
LEVEE_ADMIN_PORT=${LEVEE_ADMIN_PORT:-19703}

# CPU placement. The proxy under test gets core 0 to itself; the load generator and the
# mock upstream share core 1 (the upstream costs the same for both proxies, and this way
# it never steals cycles from the proxy being measured).
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
UPSTREAM_CPU=${UPSTREAM_CPU:-1}

# NICE=-10 (root only) runs the servers, the upstream and the load generator at a higher
# priority than anything else on the machine (e.g. compilations): less noise, same CPUs.
NICE=${NICE:-0}
PRIO=(nice -n "$NICE")

BENCH_PIDS=()
BENCH_DIR=""

bench_log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
bench_die() { bench_log "error: $*"; exit 1; }

# The JSON-lines file a run appends to: $1 when given, else results/NAME-<UTC time>.jsonl.
# Sets BENCH_OUT to it and BENCH_LINES_BEFORE to its line count, so that a report can take
# only this run's lines even when the file already has some.
bench_results_file() {
  local given=$1 name=$2
  BENCH_OUT=$given
  if [[ -z $BENCH_OUT ]]; then
    mkdir -p "$BENCH_ROOT/results"
    BENCH_OUT=$BENCH_ROOT/results/$name-$(date -u +%Y%m%dT%H%M%SZ).jsonl
  fi
  mkdir -p "$(dirname "$BENCH_OUT")"
  touch "$BENCH_OUT"
  # shellcheck disable=SC2034  # read by the scripts that source this file
  BENCH_LINES_BEFORE=$(wc -l <"$BENCH_OUT")
}

bench_setup_dir() {
  BENCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/levee-bench.XXXXXX")
  # nginx's worker may run as an unprivileged user when we are root: let it read the prefix.
  chmod 755 "$BENCH_DIR"
}

# Stop one process we started: SIGTERM, wait up to 5 s, then SIGKILL.
bench_stop_pid() {
  local pid=$1 _
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  local keep=() p
  for p in "${BENCH_PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  BENCH_PIDS=("${keep[@]}")
}

# Drop a pid from BENCH_PIDS once we have waited for the process ourselves (bench_stop_pid
# returns early, keeping the entry, when the process is already gone).
bench_forget_pid() {
  local keep=() p
  for p in "${BENCH_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  BENCH_PIDS=("${keep[@]}")
}

bench_cleanup() {
  local p
  for p in "${BENCH_PIDS[@]}"; do bench_stop_pid "$p"; done
  if [[ -n $BENCH_DIR && -d $BENCH_DIR && -z ${BENCH_KEEP_DIR:-} ]]; then rm -rf "$BENCH_DIR"; fi
}

bench_port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

bench_check_ports() {
  local p
  for p in "$@"; do bench_port_free "$p" || bench_die "port 127.0.0.1:$p is already in use (override with *_PORT)"; done
}

# Wait (up to $3 seconds) for a line matching $2 in file $1.
bench_wait_line() {
  local file=$1 pattern=$2 secs=${3:-10} _
  for _ in $(seq $((secs * 10))); do
    grep -q "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Wait (up to $2 seconds) until 127.0.0.1:$1 answers an HTTP request.
bench_wait_http() {
  local port=$1 secs=${2:-10} _
  for _ in $(seq $((secs * 10))); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/api/bench" && return 0
    sleep 0.1
  done
  return 1
}

# The mock's delay per answer: UPSTREAM_LATENCY (0ms), and UPSTREAM_BATCH_LATENCY for
# /process_batch (unset: the mock uses UPSTREAM_LATENCY there too). UPSTREAM_NICE: see below.
start_upstream() {
  local log=$BENCH_DIR/upstream.log extra=() prio=("${PRIO[@]}")
  if [[ -n ${UPSTREAM_BATCH_LATENCY:-} ]]; then extra+=(--batch-latency "$UPSTREAM_BATCH_LATENCY"); fi
  # UPSTREAM_NICE: the upstream's own priority, e.g. 19 to let a server on the same core
  # preempt it (it stands in for a service on another machine).
  if [[ -n ${UPSTREAM_NICE:-} ]]; then prio=(nice -n "$UPSTREAM_NICE"); fi
  # UPSTREAM_SCHED=idle: SCHED_IDLE instead, which any normal task preempts at once on wake-up
  # (a nice 19 task may finish its slice first, up to a few milliseconds).
  if [[ ${UPSTREAM_SCHED:-} == idle ]]; then prio=(chrt --idle 0); fi
  "${prio[@]}" taskset -c "$UPSTREAM_CPU" "$UPSTREAM_BIN" --listen "127.0.0.1:$UPSTREAM_PORT" \
    --latency "${UPSTREAM_LATENCY:-0ms}" "${extra[@]}" --workers 1 >"$log" 2>&1 &
  UPSTREAM_PID=$!
  BENCH_PIDS+=("$UPSTREAM_PID")
  bench_wait_line "$log" 'levee-upstream ready' 10 || { cat "$log" >&2; bench_die "levee-upstream did not start"; }
}

# nginx's temporary paths under $1/tmp (nginx would otherwise use its system prefix, which a
# benchmark run must not touch), one directive a line, for an http {} block.
nginx_temp_paths() {
  local name
  for name in client_body proxy fastcgi uwsgi scgi; do
    printf '    %s_temp_path %s/tmp/%s;\n' "$name" "$1" "${name#client_}"
  done
}

# The /api/ location's body for a pass-through nginx.
nginx_proxy_location() {
  cat <<'EOF'
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # Same header work as levee's pass mode: keep Host, add X-Forwarded-For,
            # X-Forwarded-Proto and Via on the request, Via on the response.
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Via "1.1 nginx";
            add_header Via "1.1 nginx";
EOF
}

# nginx, 1 worker, in front of levee-upstream like levee's pass route. $1, if given, replaces
# the body of the /api/ location (bench/overload.sh's control answers 503 itself).
write_nginx_conf() {
  local dir=$BENCH_DIR/nginx
  local location=${1:-$(nginx_proxy_location)}
  mkdir -p "$dir/logs" "$dir/tmp"
  chmod -R 755 "$dir"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $(( ${NGINX_WORKER_CONNECTIONS:-4096} + 1000 ));
error_log $dir/logs/error.log warn;
pid $dir/logs/nginx.pid;

events {
    worker_connections ${NGINX_WORKER_CONNECTIONS:-4096};
    multi_accept off;
}

http {
    access_log off;
$(nginx_temp_paths "$dir")

    # Do not handicap nginx: no per-connection request cap. Long idle and header timeouts,
    # as for levee, because the idle connection test holds connections for minutes.
    keepalive_timeout 600s;
    client_header_timeout 300s;
    keepalive_requests 100000000;

    upstream mock {
        server 127.0.0.1:$UPSTREAM_PORT;
        keepalive 64;
        keepalive_requests 100000000;
        keepalive_timeout 60s;
    }

    server {
        listen 127.0.0.1:$NGINX_PORT;

        location /api/ {
$location
        }
    }
}
EOF
  NGINX_CONF=$dir/nginx.conf
  NGINX_PREFIX=$dir
}

start_nginx() {
  local log=$BENCH_DIR/nginx.stderr
  "${PRIO[@]}" taskset -c "$SERVER_CPU" "$NGINX_BIN" -p "$NGINX_PREFIX" -c "$NGINX_CONF" -g 'daemon off;' >"$log" 2>&1 &
  NGINX_PID=$!
  BENCH_PIDS+=("$NGINX_PID")
  bench_wait_http "$NGINX_PORT" 10 || { cat "$log" "$NGINX_PREFIX/logs/error.log" >&2; bench_die "nginx did not start"; }
}

# The nginx worker (the only child of the master).
nginx_worker_pid() { pgrep -P "$NGINX_PID" | head -n1; }

stop_nginx() {
  # SIGQUIT is nginx's graceful stop, SIGTERM its fast stop; the fast one is enough here.
  bench_stop_pid "$NGINX_PID"
}

write_levee_conf() {
  LEVEE_CONF=$BENCH_DIR/levee.toml
  cat >"$LEVEE_CONF" <<EOF
[server]
listen = "127.0.0.1:$LEVEE_PORT"
admin_listen = "127.0.0.1:$LEVEE_ADMIN_PORT"
workers = 1
max_connections = 20000
idle_timeout = "10m"                # the idle connection test holds connections for minutes
header_timeout = "5m"               # ... and its --mode connect clients never send a request

[log]
level = "warn"

[upstreams.mock]
address = "127.0.0.1:$UPSTREAM_PORT"
max_idle_connections = 64

[[routes]]
name = "api"
path_prefix = "/api/"
upstream = "mock"
mode = "pass"
EOF
}

start_levee() {
  local log=$BENCH_DIR/levee.out
  : >"$log"
  "${PRIO[@]}" taskset -c "$SERVER_CPU" "$LEVEE_BIN" serve --config "$LEVEE_CONF" >"$log" 2>"$BENCH_DIR/levee.stderr" &
  LEVEE_PID=$!
  BENCH_PIDS+=("$LEVEE_PID")
  bench_wait_line "$log" 'levee ready' 10 || { cat "$log" "$BENCH_DIR/levee.stderr" >&2; bench_die "levee did not start"; }
}

stop_levee() { bench_stop_pid "$LEVEE_PID"; }

vm_rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# Established TCP connections whose local port is $1 (the server side of client connections).
established_on_port() { ss -Htn state established "sport = :$1" 2>/dev/null | wc -l; }

load_average() { cut -d' ' -f1-3 /proc/loadavg; }

# AUTOGROUP_NICE: with the kernel's autogroup scheduling on (/proc/sys/kernel/sched_autogroup_enabled),
# CPU time is shared between sessions first and NICE only ranks processes inside one session.
# With AUTOGROUP_NICE set, the calling script re-runs itself in a session of its own (setsid)
# and gives that session, which holds only what it starts, this nice value. Call it with the
# script's arguments before anything is started.
bench_own_session() {
  [[ -n ${AUTOGROUP_NICE:-} ]] || return 0
  if [[ -z ${BENCH_IN_OWN_SESSION:-} ]]; then
    BENCH_IN_OWN_SESSION=1 exec setsid --wait "$0" "$@"
  fi
  echo "$AUTOGROUP_NICE" >/proc/self/autogroup || bench_die "cannot set the autogroup's nice"
}
