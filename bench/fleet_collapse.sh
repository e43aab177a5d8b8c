#!/usr/bin/env bash
# Issue 21's fleet collapse goals, run by hand (never in CI); results in docs/benchmarks.md,
# "Issue 21: fleet collapse". Everything on 127.0.0.1: one redis-server (no persistence), one
# levee-upstream, levee instances (1 worker each, /api/ a collapse route, strategy inflight)
# and, for part A, HAProxy (`balance roundrobin`, keep-alive to the levees) in front of them.
#
#   bench/fleet_collapse.sh [A|B|path|all]       # default all
#   AUTOGROUP_NICE=-10 NICE=-10 ROUNDS=5 OUT_DIR=docs/data/fleet bench/fleet_collapse.sh
#
# A  seed 000's waves (bench/scenarios/waves.toml) through HAProxy, once per upstream latency
#    in LATENCIES, configurations side by side, the order rotating each round:
#      single    1 levee (inflight collapse) behind HAProxy
#      fleet3    3 levees with [routes.collapse] fleet = true, sharing redis-server
#      nofleet3  3 levees without fleet (each collapses only its own third of a wave)
#    Upstream calls from levee-upstream's /__stats, p50/p99 from levee-bench.
# B  a key that never repeats (bench/scenarios/unique_keys_closed.toml: closed loop, 50
#    connections, 10 s) straight at 1 levee: fleet = true vs the same config without it,
#    alternating; req/s, and Redis commands per request from levee's
#    levee_fleet_redis_commands_total and from redis-server's INFO commandstats.
# path  which of those Redis round trips a request waits for: levee's Redis behind
#    bench/delay_proxy.py (each round trip + PATH_DELAY), bench/scenarios/unique_keys_paced.toml
#    (20/s, so a request's after-the-answer work is over before the next one), fleet = true vs
#    without; (p50 difference) / PATH_DELAY = round trips on the path. The yardstick: the same
#    route with [routes.cache] instead of fleet (a miss waits for one Redis GET, the store
#    follows the answer) must come out at 1. redis-server's MONITOR
#    (only in this part: it costs throughput) splits the commands levee sent from those its
#    Lua scripts ran.
#
# Placement (2-core machine): levees and HAProxy on SERVER_CPU (0); levee-bench, levee-upstream,
# redis-server and the delay proxy on CLIENT_CPU/UPSTREAM_CPU/REDIS_CPU (1): Redis, like the
# upstream, stands in for a service on another machine.
#
# Environment: ROUNDS (3), LATENCIES ("30ms 0ms", part A's upstream latencies), PARTS (all),
# A_CONFIGS ("single fleet3 nofleet3"), B_CONFIGS ("fleet nofleet"), PATH_CONFIGS ("fleet
# nofleet cache"; cache: no fleet, [routes.cache] on the same Redis, the yardstick),
# FLEET_KEYS (extra [routes.collapse] keys for fleet runs, e.g. 'fleet_wait = "100ms"'),
# PATH_DELAY (10, ms), OUT_DIR (results.jsonl, results.tsv and summary.txt; default a
# temporary directory that is removed), ports FLEET_UPSTREAM_PORT (19740), FLEET_HAPROXY_PORT
# (19741), FLEET_REDIS_PORT (19742), FLEET_DELAY_PORT (19743), FLEET_LEVEE_PORT (19744: levee i
# listens on +2i, its admin on +2i+1), SERVER_CPU/CLIENT_CPU/UPSTREAM_CPU/REDIS_CPU, NICE,
# AUTOGROUP_NICE (see bench_own_session in lib.sh), LEVEE_BIN/UPSTREAM_BIN/LEVEE_BENCH_BIN,
# HAPROXY_BIN, REDIS_BIN.
set -euo pipefail

UPSTREAM_PORT=${FLEET_UPSTREAM_PORT:-19740}
HAPROXY_PORT=${FLEET_HAPROXY_PORT:-19741}
REDIS_PORT=${FLEET_REDIS_PORT:-19742}
DELAY_PORT=${FLEET_DELAY_PORT:-19743}
LEVEE_BASE_PORT=${FLEET_LEVEE_PORT:-19744}

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_own_session "$@"

LEVEE_BENCH_BIN=${LEVEE_BENCH_BIN:-$BENCH_ROOT/build/bin/levee-bench}
HAPROXY_BIN=${HAPROXY_BIN:-/usr/sbin/haproxy}
REDIS_BIN=${REDIS_BIN:-/usr/bin/redis-server}
REDIS_CPU=${REDIS_CPU:-$UPSTREAM_CPU}
PYTHON=/usr/bin/python3
ROUNDS=${ROUNDS:-3}
LATENCIES=${LATENCIES:-30ms 0ms}
FLEET_KEYS=${FLEET_KEYS:-}
PATH_DELAY=${PATH_DELAY:-10}
PARTS=${1:-${PARTS:-all}}
OUT_DIR=${OUT_DIR:-}
FLEET_SIZE=3
A_CONFIGS=${A_CONFIGS:-single fleet3 nofleet3}
B_CONFIGS=${B_CONFIGS:-fleet nofleet}
PATH_CONFIGS=${PATH_CONFIGS:-fleet nofleet cache}

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || bench_die "ROUNDS wants a positive integer"
[[ $PARTS =~ ^(A|B|path|all)$ ]] || bench_die "part: A, B, path or all"
for tool in "$LEVEE_BIN" "$UPSTREAM_BIN" "$LEVEE_BENCH_BIN" "$HAPROXY_BIN" "$REDIS_BIN" redis-cli taskset curl ss; do
  command -v "$tool" >/dev/null || bench_die "$tool not found (build: cmake --build --preset release --target levee levee-bench levee-upstream)"
done

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_setup_dir
[[ -n $OUT_DIR ]] && mkdir -p "$OUT_DIR"
RAW_DIR=${OUT_DIR:-$BENCH_DIR}
RESULTS=$RAW_DIR/results.jsonl
: >"$RESULTS"
ports=("$UPSTREAM_PORT" "$HAPROXY_PORT" "$REDIS_PORT" "$DELAY_PORT")
for i in $(seq 0 $((FLEET_SIZE - 1))); do ports+=($((LEVEE_BASE_PORT + 2 * i)) $((LEVEE_BASE_PORT + 2 * i + 1))); done
bench_check_ports "${ports[@]}"

levee_port() { echo $((LEVEE_BASE_PORT + 2 * $1)); }
admin_port() { echo $((LEVEE_BASE_PORT + 2 * $1 + 1)); }
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

# Wait (up to $2 seconds) until something listens on 127.0.0.1:$1.
wait_listening() {
  local _
  for _ in $(seq $(($2 * 10))); do
    bench_port_free "$1" || return 0
    sleep 0.1
  done
  return 1
}

start_redis() {
  "${PRIO[@]}" taskset -c "$REDIS_CPU" "$REDIS_BIN" --bind 127.0.0.1 --port "$REDIS_PORT" \
    --save '' --appendonly no --daemonize no --dir "$BENCH_DIR" >"$BENCH_DIR/redis.log" 2>&1 &
  REDIS_PID=$!
  BENCH_PIDS+=("$REDIS_PID")
  wait_listening "$REDIS_PORT" 10 || { cat "$BENCH_DIR/redis.log" >&2; bench_die "redis-server did not start"; }
  rcli ping >/dev/null || bench_die "redis-server does not answer"
}

start_delay_proxy() {
  "${PRIO[@]}" taskset -c "$REDIS_CPU" "$PYTHON" "$BENCH_ROOT/bench/delay_proxy.py" --port "$DELAY_PORT" \
    --to "$REDIS_PORT" --delay "$PATH_DELAY" >"$BENCH_DIR/delay_proxy.log" 2>&1 &
  DELAY_PID=$!
  BENCH_PIDS+=("$DELAY_PID")
  bench_wait_line "$BENCH_DIR/delay_proxy.log" 'delay_proxy ready' 10 || bench_die "delay proxy did not start"
}

# Levee instance $1's config: /api/ collapses (inflight); $2 = fleet, nofleet or cache; $3 = the
# Redis port levee uses ([cache] redis, also in nofleet configs of parts B and path so that
# fleet is the only difference), empty for none.
write_instance_conf() {
  local i=$1 kind=$2 redis=$3 conf=$BENCH_DIR/levee$1.toml
  {
    cat <<EOF
[server]
listen = "127.0.0.1:$(levee_port "$i")"
admin_listen = "127.0.0.1:$(admin_port "$i")"
workers = 1
max_connections = 20000

[log]
level = "warn"
EOF
    if [[ -n $redis ]]; then printf '\n[cache]\nredis = "127.0.0.1:%s"\n' "$redis"; fi
    cat <<EOF

[upstreams.mock]
address = "127.0.0.1:$UPSTREAM_PORT"
max_idle_connections = 64

[[routes]]
name = "api"
path_prefix = "/api/"
upstream = "mock"
mode = "collapse"

[routes.collapse]
strategy = "inflight"
EOF
    if [[ $kind == fleet ]]; then
      echo "fleet = true"
      if [[ -n $FLEET_KEYS ]]; then echo "$FLEET_KEYS"; fi
    fi
    # The yardstick of part path: the response cache's shared tier, whose miss is one Redis
    # GET on the request's path and whose store (SET) follows the answer.
    if [[ $kind == cache ]]; then printf '\n[routes.cache]\n'; fi
  } >"$conf"
}

# Start $1 levee instances of kind $2 on Redis port $3 (see write_instance_conf).
start_levees() {
  local n=$1 i log
  LEVEE_PIDS=()
  for i in $(seq 0 $((n - 1))); do
    write_instance_conf "$i" "$2" "$3"
    log=$BENCH_DIR/levee$i.out
    : >"$log"
    "${PRIO[@]}" taskset -c "$SERVER_CPU" "$LEVEE_BIN" serve --config "$BENCH_DIR/levee$i.toml" \
      >"$log" 2>"$BENCH_DIR/levee$i.stderr" &
    LEVEE_PIDS+=($!)
    BENCH_PIDS+=($!)
  done
  for i in $(seq 0 $((n - 1))); do
    # Ready on its "levee ready" line: an HTTP probe of /api/ would be an upstream call.
    bench_wait_line "$BENCH_DIR/levee$i.out" 'levee ready' 10 ||
      { cat "$BENCH_DIR/levee$i.toml" "$BENCH_DIR/levee$i.out" "$BENCH_DIR/levee$i.stderr" >&2; bench_die "levee $i did not start"; }
  done
}

stop_levees() {
  local pid
  for pid in "${LEVEE_PIDS[@]}"; do bench_stop_pid "$pid"; done
  LEVEE_PIDS=()
}

# Every levee_fleet_* and levee_collapse_requests_total sample of instance $1, one file each.
scrape_levees() {
  local n=$1 i
  for i in $(seq 0 $((n - 1))); do
    curl -s --max-time 5 "http://127.0.0.1:$(admin_port "$i")/metrics" >"$BENCH_DIR/metrics$i.txt" || : >"$BENCH_DIR/metrics$i.txt"
  done
}

# HAProxy in front of levee instances 0..$1-1: round robin per request, keep-alive both sides.
start_haproxy_rr() {
  local n=$1 i conf=$BENCH_DIR/haproxy.cfg
  {
    cat <<EOF
global
    nbthread 1
    maxconn 4000

defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 1s
    timeout server 60s
    timeout client 600s
    timeout http-request 300s
    timeout http-keep-alive 600s

frontend fleet
    bind 127.0.0.1:$HAPROXY_PORT
    default_backend levees

backend levees
    balance roundrobin
EOF
    for i in $(seq 0 $((n - 1))); do echo "    server levee$i 127.0.0.1:$(levee_port "$i")"; done
  } >"$conf"
  "${PRIO[@]}" taskset -c "$SERVER_CPU" "$HAPROXY_BIN" -db -f "$conf" >"$BENCH_DIR/haproxy.log" 2>&1 &
  HAPROXY_PID=$!
  BENCH_PIDS+=("$HAPROXY_PID")
  wait_listening "$HAPROXY_PORT" 10 || { cat "$BENCH_DIR/haproxy.log" >&2; bench_die "haproxy did not start"; }
}

stop_haproxy_rr() { bench_stop_pid "$HAPROXY_PID"; }

# CPU time (utime + stime, clock ticks) of the processes under test, one "name ticks" line each:
# the levees together, redis-server, levee-upstream and HAProxy when they run.
cpu_snapshot() {
  local name pid ticks pids
  for name in levee redis upstream haproxy; do
    ticks=0
    case $name in
      levee) pids=("${LEVEE_PIDS[@]}") ;;
      redis) pids=("${REDIS_PID:-}") ;;
      upstream) pids=("${UPSTREAM_PID:-}") ;;
      haproxy) pids=("${HAPROXY_PID:-}") ;;
    esac
    for pid in "${pids[@]}"; do
      [[ -n $pid && -r /proc/$pid/stat ]] || continue
      ticks=$((ticks + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
    done
    echo "$name $ticks"
  done
}

# One levee-bench run of scenario $1 against $2, labelled $3, appended to $RESULTS together
# with part $4, round $5, upstream latency $6, instance count $7 and what levee's metrics and
# redis-server's INFO commandstats (before.txt vs after) say about it.
run_bench() {
  local scenario=$1 target=$2 label=$3 part=$4 round=$5 latency=$6 n=$7 rc=0
  rcli flushall >/dev/null
  rcli info commandstats >"$BENCH_DIR/redis_before.txt"
  cpu_snapshot >"$BENCH_DIR/cpu_before.txt"
  "${PRIO[@]}" timeout --kill-after=10 300 taskset -c "$CLIENT_CPU" "$LEVEE_BENCH_BIN" \
    --scenario "$scenario" --target "$target" \
    --upstream-stats "http://127.0.0.1:$UPSTREAM_PORT/__stats" --label "$label" \
    --json-out "$BENCH_DIR/one.jsonl" --progress off --quiet >/dev/null || rc=$?
  cpu_snapshot >"$BENCH_DIR/cpu_after.txt"
  # Completions sent after the last answers (off the request's path) land within a few ms.
  sleep 0.5
  rcli info commandstats >"$BENCH_DIR/redis_after.txt"
  scrape_levees "$n"
  "$PYTHON" - "$BENCH_DIR" "$RESULTS" "$part" "$round" "$latency" "$n" "$rc" "$(getconf CLK_TCK)" <<'PYEOF'
import json, re, sys
d, results, part, rnd, latency, n, rc, hz = sys.argv[1:]
r = json.loads(open(d + "/one.jsonl").read().splitlines()[-1])
open(d + "/one.jsonl", "w").close()

def cmdstats(path):
    out = {}
    for m in re.finditer(r"^cmdstat_([^:]+):calls=(\d+)", open(path).read(), re.M):
        out[m.group(1)] = int(m.group(2))
    return out

before, after = cmdstats(d + "/redis_before.txt"), cmdstats(d + "/redis_after.txt")
# Our own INFO and FLUSHALL are not levee's.
delta = {k: v - before.get(k, 0) for k, v in after.items() if k not in ("info", "flushall")}
delta = {k: v for k, v in delta.items() if v}

sample = re.compile(r'^(levee_fleet_[a-z_]+|levee_collapse_requests_total)\{([^}]*)\} ([0-9.e+]+)$', re.M)
fleet, per_instance = {}, []
for i in range(int(n)):
    text = open(f"{d}/metrics{i}.txt").read()
    served = 0
    for m in sample.finditer(text):
        name, labels, value = m.group(1), m.group(2), float(m.group(3))
        if 'route="api"' not in labels:
            continue
        if name == "levee_collapse_requests_total":
            served += value
            continue
        rest = ",".join(l for l in labels.split(",") if not l.startswith("route="))
        key = name + ("{" + rest + "}" if rest else "")
        fleet[key] = fleet.get(key, 0) + value
    per_instance.append(int(served))

def ticks(path):
    return {name: int(v) for name, v in (line.split() for line in open(path) if line.strip())}

# CPU over levee-bench's run, in % of one core, and the levees' CPU time per request.
cpu_before, cpu_after = ticks(d + "/cpu_before.txt"), ticks(d + "/cpu_after.txt")
seconds = r.get("duration_s") or 1
cpu = {k: round(100.0 * (cpu_after[k] - cpu_before.get(k, 0)) / int(hz) / seconds, 1) for k in cpu_after}
r["cpu_percent"] = cpu
r["levee_cpu_us_per_request"] = ((cpu_after["levee"] - cpu_before.get("levee", 0)) / int(hz) * 1e6
                                 / (r["requests"] or 1))
r.update(part=part, round=int(rnd), upstream_latency=latency, instances=int(n), exit=int(rc),
         per_instance_requests=per_instance, fleet_metrics=fleet, redis_cmdstats_delta=delta)
req = r["requests"] or 1
r["levee_redis_commands_per_request"] = fleet.get("levee_fleet_redis_commands_total", 0) / req
r["redis_calls_per_request"] = {k: v / req for k, v in delta.items()}
with open(results, "a") as f:
    f.write(json.dumps(r) + "\n")
print("p50 %.3f ms, p99 %.3f ms, %.0f req/s, upstream %s, errors %d, mismatches %d, per levee %s, "
      "CPU %% %s, levee redis cmds/req %.3f, redis %s" % (
          r["p50_ms"], r["p99_ms"], r["rate_achieved"] or 0, r["upstream_calls"], r["errors"],
          r["mismatches"], per_instance, cpu, r["levee_redis_commands_per_request"],
          {k: round(v, 3) for k, v in r["redis_calls_per_request"].items()}))
PYEOF
}

# Part A: seed 000's waves through HAProxy, the three configurations side by side.
part_a() {
  local latency round i config kind n line
  local configs
  read -r -a configs <<<"$A_CONFIGS"
  for latency in $LATENCIES; do
    UPSTREAM_LATENCY=$latency start_upstream
    for round in $(seq "$ROUNDS"); do
      for i in $(seq 0 $((${#configs[@]} - 1))); do
        config=${configs[$(((i + round - 1) % ${#configs[@]}))]}
        case $config in
          single) n=1 kind=nofleet ;;
          fleet3) n=$FLEET_SIZE kind=fleet ;;
          nofleet3) n=$FLEET_SIZE kind=nofleet ;;
          *) bench_die "A_CONFIGS: unknown configuration $config" ;;
        esac
        start_levees "$n" "$kind" "$([[ $kind == fleet ]] && echo "$REDIS_PORT")"
        start_haproxy_rr "$n"
        line=$(run_bench "$BENCH_ROOT/bench/scenarios/waves.toml" "http://127.0.0.1:$HAPROXY_PORT" \
          "$config" A "$round" "$latency" "$n")
        bench_log "A latency $latency round $round $config: $line"
        stop_haproxy_rr
        stop_levees
      done
    done
    bench_stop_pid "$UPSTREAM_PID"
  done
}

# Part B: a key that never repeats, straight at one levee, fleet = true vs without.
part_b() {
  local round i config line
  local configs
  read -r -a configs <<<"$B_CONFIGS"
  start_upstream
  for round in $(seq "$ROUNDS"); do
    for i in $(seq 0 $((${#configs[@]} - 1))); do
      config=${configs[$(((i + round - 1) % ${#configs[@]}))]}
      start_levees 1 "$config" "$REDIS_PORT"
      line=$(run_bench "$BENCH_ROOT/bench/scenarios/unique_keys_closed.toml" \
        "http://127.0.0.1:$(levee_port 0)" "$config" B "$round" 0ms 1)
      bench_log "B round $round $config: $line"
      stop_levees
    done
  done
  bench_stop_pid "$UPSTREAM_PID"
}

# Part path: levee's Redis behind the delay proxy; MONITOR records what reaches redis-server.
part_path() {
  local round i config monitor_pid line
  local configs
  read -r -a configs <<<"$PATH_CONFIGS"
  start_upstream
  start_delay_proxy
  for round in $(seq "$ROUNDS"); do
    for i in $(seq 0 $((${#configs[@]} - 1))); do
      config=${configs[$(((i + round - 1) % ${#configs[@]}))]}
      start_levees 1 "$config" "$DELAY_PORT"
      timeout 120 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" monitor >"$BENCH_DIR/monitor.txt" 2>/dev/null &
      monitor_pid=$!
      BENCH_PIDS+=("$monitor_pid")
      sleep 0.2
      line=$(run_bench "$BENCH_ROOT/bench/scenarios/unique_keys_paced.toml" \
        "http://127.0.0.1:$(levee_port 0)" "$config" path "$round" 0ms 1)
      bench_log "path round $round $config: $line"
      bench_stop_pid "$monitor_pid"
      stop_levees
      # MONITOR's lines: '<time> [0 127.0.0.1:PORT] "EVAL" ...' for a command a client sent,
      # '<time> [0 lua] "SET" ...' for one a Lua script ran. Our own INFO/FLUSHALL are ours.
      "$PYTHON" - "$BENCH_DIR/monitor.txt" "$RESULTS" <<'PYEOF'
import collections, json, re, sys
monitor, results = sys.argv[1:]
sent, scripted = collections.Counter(), collections.Counter()
for line in open(monitor, errors="replace"):
    m = re.match(r'^[0-9.]+ \[\d+ ([^\]]+)\] "([^"]+)"', line)
    if not m:
        continue
    cmd = m.group(2).lower()
    if cmd in ("info", "flushall", "monitor"):
        continue
    (scripted if m.group(1) == "lua" else sent)[cmd] += 1
lines = open(results).read().splitlines()
r = json.loads(lines[-1])
req = r["requests"] or 1
r["monitor_sent"], r["monitor_scripted"] = dict(sent), dict(scripted)
r["monitor_sent_per_request"] = sum(sent.values()) / req
lines[-1] = json.dumps(r)
open(results, "w").write("\n".join(lines) + "\n")
print("  MONITOR: sent by levee %s (%.3f a request), run by scripts %s" % (
    dict(sent), r["monitor_sent_per_request"], dict(scripted)), file=sys.stderr)
PYEOF
    done
  done
  bench_stop_pid "$DELAY_PID"
  bench_stop_pid "$UPSTREAM_PID"
}

bench_log "levee $LEVEE_BIN ($("$LEVEE_BIN" --version 2>/dev/null | head -n1 || true)); $(nproc) cores, $(uname -r); load $(load_average)"
start_redis
bench_log "redis-server on 127.0.0.1:$REDIS_PORT ($("$REDIS_BIN" --version | cut -d' ' -f3)); rounds $ROUNDS; parts $PARTS"
if [[ $PARTS == A || $PARTS == all ]]; then part_a; fi
if [[ $PARTS == B || $PARTS == all ]]; then part_b; fi
if [[ $PARTS == path || $PARTS == all ]]; then part_path; fi
"$PYTHON" "$BENCH_ROOT/bench/fleet_table.py" --path-delay "$PATH_DELAY" "$RESULTS" | tee "$RAW_DIR/summary.txt"
bench_log "results: $RESULTS"
