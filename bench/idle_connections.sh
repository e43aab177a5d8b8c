#!/usr/bin/env bash
# Idle keep-alive connection memory of issue 2: resident memory (VmRSS) of levee (1 worker)
# and of nginx (1 worker) holding 10,000 idle client connections. Run by hand, never in CI.
# Results and method: docs/benchmarks.md.
#
#   bench/idle_connections.sh              # 10,000 connections, both modes, levee and nginx, 3 rounds
#   COUNT=20000 MODES=request bench/idle_connections.sh
#
# For each server and each mode a fresh server is started (only one server runs at a time),
# its RSS is read once it has answered one request (baseline), then bench/idle_clients.py
# opens COUNT connections and holds them, and the RSS is read again after SETTLE seconds.
#   request: each connection sends one complete GET, reads the answer and stays idle
#            (a real keep-alive connection; this is the figure of the issue's target)
#   connect: each connection is only opened
# For nginx the figure is the worker's RSS (the master's is listed too).
#
# Environment: ROUNDS (3), COUNT (10000), MODES ("request connect"), SETTLE (3), ports and CPUs as in
# bench/lib.sh.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3}
COUNT=${COUNT:-10000}
MODES=${MODES:-request connect}
SETTLE=${SETTLE:-3}
PY=${PY:-/usr/bin/python3}
HELPER=$(dirname "${BASH_SOURCE[0]}")/idle_clients.py
TARGET_MIB=64
# nginx preallocates (and touches) one connection structure per worker_connections slot, so
# give it just what the test needs: the clients plus some upstream connections.
export NGINX_WORKER_CONNECTIONS=${NGINX_WORKER_CONNECTIONS:-$((COUNT + 1024))}

for tool in taskset curl ss "$PY" "$NGINX_BIN"; do
  command -v "$tool" >/dev/null || bench_die "$tool not found"
done
[[ -x $LEVEE_BIN && -x $UPSTREAM_BIN ]] ||
  bench_die "build levee first: cmake --build --preset release --target levee levee-upstream"

# Both ends of every connection are in this machine: the client needs COUNT descriptors and
# the server COUNT more. Raise the limit (inherited by everything started below).
want=$((COUNT + 5000))
ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) >= COUNT + 100)) || bench_die "open file limit $(ulimit -n) is too low for $COUNT connections"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_setup_dir
bench_check_ports "$UPSTREAM_PORT" "$NGINX_PORT" "$LEVEE_PORT" "$LEVEE_ADMIN_PORT"
write_nginx_conf
write_levee_conf
start_upstream

RESULTS=$BENCH_DIR/idle.tsv
: >"$RESULTS"

kib_to_mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

measure_idle() {  # $1 server, $2 mode, $3 round
  local name=$1 mode=$2 round=$3 port pid extra=""
  if [[ $name == nginx ]]; then
    start_nginx; port=$NGINX_PORT; pid=$(nginx_worker_pid)
  else
    start_levee; port=$LEVEE_PORT; pid=$LEVEE_PID
  fi
  curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/api/bench"
  sleep 1
  local base
  base=$(vm_rss_kib "$pid")

  local out=$BENCH_DIR/clients-$name-$mode.txt
  "${PRIO[@]}" taskset -c "$CLIENT_CPU" "$PY" "$HELPER" --port "$port" --count "$COUNT" --mode "$mode" \
    --hold 300 --open-timeout 240 >"$out" 2>&1 &
  local cpid=$!
  BENCH_PIDS+=("$cpid")
  bench_wait_line "$out" '^holding' 260 || { cat "$out" >&2; bench_die "clients did not finish opening"; }
  sleep "$SETTLE"

  local rss hwm est open_metric=""
  rss=$(vm_rss_kib "$pid")
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  est=$(established_on_port "$port")
  if [[ $name == levee ]]; then
    open_metric=$(curl -s --max-time 2 "http://127.0.0.1:$LEVEE_ADMIN_PORT/metrics" |
      awk '$1 == "levee_open_connections" {print $2}')
    extra="levee_open_connections=$open_metric"
  else
    extra="master_rss=$(kib_to_mib "$(vm_rss_kib "$NGINX_PID")")MiB"
  fi

  kill -TERM "$cpid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
  bench_stop_pid "$cpid"
  local held still
  held=$(grep '^holding' "$out")
  still=$(grep '^still open' "$out" || echo "still open: ?")

  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$mode" "$(kib_to_mib "$base")" \
    "$(kib_to_mib "$rss")" "$(kib_to_mib "$hwm")" "$est" "$extra" "$held; $still" "$(load_average)" "$round" >>"$RESULTS"
  bench_log "round $round $name $mode: RSS $(kib_to_mib "$base") MiB -> $(kib_to_mib "$rss") MiB with $est established; $held; $still"

  if [[ $name == nginx ]]; then stop_nginx; else stop_levee; fi
  sleep 1
}

bench_log "start: load average $(load_average); $COUNT connections; modes: $MODES; ulimit -n $(ulimit -n)"
for round in $(seq "$ROUNDS"); do
  for mode in $MODES; do
    if ((round % 2)); then order=(levee nginx); else order=(nginx levee); fi
    for name in "${order[@]}"; do measure_idle "$name" "$mode" "$round"; done
  done
done

echo
printf '%-5s %-6s %-8s %9s %9s %9s %12s  %s\n' round server mode 'base MiB' 'RSS MiB' 'HWM MiB' established 'notes'
awk -F'\t' '{printf "%-5s %-6s %-8s %9s %9s %9s %12s  %s; %s; load %s\n", $10, $1, $2, $3, $4, $5, $6, $7, $8, $9}' "$RESULTS"
echo
median() {  # $1 server, $2 mode, $3 column
  awk -F'\t' -v s="$1" -v m="$2" -v c="$3" '$1 == s && $2 == m {print $c}' "$RESULTS" | sort -g |
    awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
echo "medians of $ROUNDS rounds (RSS with $COUNT connections, baseline in brackets):"
for mode in $MODES; do
  for name in levee nginx; do
    printf '  %-6s %-8s %6s MiB  (%s MiB)\n' "$name" "$mode" "$(median "$name" "$mode" 4)" "$(median "$name" "$mode" 3)"
  done
done
if [[ " $MODES " == *" request "* ]]; then
  awk -v r="$(median levee request 4)" -v t="$TARGET_MIB" -v n="$COUNT" 'BEGIN {
    printf "levee RSS with %d idle keep-alive connections: %s MiB (target <= %d MiB: %s)\n", n, r, t, (r <= t ? "met" : "NOT met") }'
fi
exit 0
