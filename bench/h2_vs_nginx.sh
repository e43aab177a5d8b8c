#!/usr/bin/env bash
# HTTP/2 pass-through benchmark of issue 20: levee (1 worker, `pass` route) vs nginx (1 worker,
# `listen ... http2` cleartext, proxy_pass with an HTTP/1.1 keepalive pool) in front of the same
# levee-upstream with zero latency. The client is h2load with prior knowledge (h2c): 10
# connections, 10 concurrent streams each (100 streams in flight). Run by hand, never in CI.
# Results and method: docs/benchmarks.md "Issue 20: HTTP/2, gRPC and TLS".
#
#   bench/h2_vs_nginx.sh                          # 3 rounds, h2load -c 10 -m 10 -D 10, 2 s warm-up
#   ROUNDS=5 DURATION=20 bench/h2_vs_nginx.sh
#   OUT_DIR=/tmp/h2-results bench/h2_vs_nginx.sh  # keep h2load's outputs and latency histograms
#
# Placement (2-core machine): the proxy under test on core 1 (SERVER_CPU), h2load and the mock
# upstream on core 0 (CLIENT_CPU, UPSTREAM_CPU). One proxy runs at a time, started fresh for
# its measurement; the order alternates (nginx first in odd rounds, levee first in even ones).
#
# p99: h2load prints only min/max/mean/sd of the request times, so every measured run writes
# h2load's --log-file (one line per request: start time, status, duration in µs) and the p50
# and p99 below are nearest-rank percentiles over those lines.
#
# Environment: ROUNDS (3), DURATION (10, seconds), WARMUP (2, seconds), CLIENTS (10),
# STREAMS (10, per connection), UPSTREAM_PORT/NGINX_PORT/LEVEE_PORT/LEVEE_ADMIN_PORT
# (19720..19723), SERVER_CPU/CLIENT_CPU/UPSTREAM_CPU (1/0/0), NICE (0; e.g. -10 as root),
# AUTOGROUP_NICE (unset; e.g. -10 as root, see below), LEVEE_BIN/UPSTREAM_BIN/NGINX_BIN, OUT_DIR,
# KEEP_LOGS (0; 1 keeps h2load's per-request logs next to their histograms).
#
# AUTOGROUP_NICE: see bench_own_session in lib.sh.
set -euo pipefail

SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
UPSTREAM_CPU=${UPSTREAM_CPU:-0}
UPSTREAM_PORT=${UPSTREAM_PORT:-19720}
NGINX_PORT=${NGINX_PORT:-19721}
LEVEE_PORT=${LEVEE_PORT:-19722}
LEVEE_ADMIN_PORT=${LEVEE_ADMIN_PORT:-19723}

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_own_session "$@"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CLIENTS=${CLIENTS:-10}
STREAMS=${STREAMS:-10}
PATH_UNDER_TEST=/api/bench
OUT_DIR=${OUT_DIR:-}

for tool in h2load taskset curl ss "$NGINX_BIN"; do
  command -v "$tool" >/dev/null || bench_die "$tool not found"
done
[[ -x $LEVEE_BIN && -x $UPSTREAM_BIN ]] ||
  bench_die "build levee first: cmake --build --preset release --target levee levee-upstream"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_setup_dir
[[ -n $OUT_DIR ]] && mkdir -p "$OUT_DIR"
RAW_DIR=${OUT_DIR:-$BENCH_DIR}
bench_check_ports "$UPSTREAM_PORT" "$NGINX_PORT" "$LEVEE_PORT" "$LEVEE_ADMIN_PORT"

# nginx as in lib.sh (1 worker, keepalive pool to the mock, same header work as levee's pass
# route), but its listener speaks HTTP/2 in cleartext with prior knowledge (nginx 1.22:
# `listen ... http2` without ssl). Such a listener does not answer HTTP/1.1, hence the
# h2c readiness check below.
write_nginx_conf
sed -i "s|listen 127.0.0.1:$NGINX_PORT;|listen 127.0.0.1:$NGINX_PORT http2;\n        http2_max_concurrent_streams 128;|" "$NGINX_CONF"
grep -q "listen 127.0.0.1:$NGINX_PORT http2;" "$NGINX_CONF" || bench_die "could not set http2 on nginx's listener"
write_levee_conf
# [server.http2] is on by default (h2c with prior knowledge next to HTTP/1.1); its defaults
# (100 concurrent streams per connection) are above STREAMS. Stated here so the run says so.
cat >>"$LEVEE_CONF" <<'EOF'

[server.http2]
enabled = true
max_concurrent_streams = 128
EOF

# Wait (up to $2 seconds) until 127.0.0.1:$1 answers an h2c request with prior knowledge.
wait_h2c() {
  local port=$1 secs=${2:-10} _
  for _ in $(seq $((secs * 10))); do
    curl -s -o /dev/null --http2-prior-knowledge --max-time 1 "http://127.0.0.1:$port$PATH_UNDER_TEST" && return 0
    sleep 0.1
  done
  return 1
}

start_nginx_h2() {
  local log=$BENCH_DIR/nginx.stderr
  "${PRIO[@]}" taskset -c "$SERVER_CPU" "$NGINX_BIN" -p "$NGINX_PREFIX" -c "$NGINX_CONF" -g 'daemon off;' >"$log" 2>&1 &
  NGINX_PID=$!
  BENCH_PIDS+=("$NGINX_PID")
  wait_h2c "$NGINX_PORT" 10 || { cat "$log" "$NGINX_PREFIX/logs/error.log" >&2; bench_die "nginx did not start"; }
}

start_upstream
bench_log "levee-upstream pid $UPSTREAM_PID on 127.0.0.1:$UPSTREAM_PORT (cpu $UPSTREAM_CPU)"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)
# Busy ticks of the whole machine (user + nice + system, all CPUs).
machine_busy() { awk '$1 == "cpu" {print $2 + $3 + $4}' /proc/stat; }

run_h2load() {  # $1 port, $2 duration (s), $3 output file, $4 log file (may be empty)
  local log_args=()
  [[ -n $4 ]] && log_args=(--log-file "$4")
  timeout $(($2 + 60)) "${PRIO[@]}" taskset -c "$CLIENT_CPU" h2load -t 1 -c "$CLIENTS" -m "$STREAMS" \
    -D "$2" "${log_args[@]}" "http://127.0.0.1:$1$PATH_UNDER_TEST" >"$3" 2>&1
}

# Nearest-rank percentile ($2, 0..1) of the durations (3rd column, µs) in h2load log $1, in ms;
# only 2xx lines count.
log_percentile() {
  awk -F'\t' '$2 ~ /^2/ {print $3}' "$1" | sort -n |
    awk -v f="$2" '{v[NR] = $1} END {if (NR == 0) {print "nan"; exit} r = int(f * NR); if (r < f * NR) r++; if (r < 1) r = 1; printf "%.3f", v[r] / 1000}'
}

# The per-request log of a 10 s run is a few MB; what is kept is its latency histogram: the
# 2xx request times in 50 µs buckets ("bucket start µs<TAB>count"), from which any
# percentile can be read back to 50 µs. KEEP_LOGS=1 keeps the logs as well.
KEEP_LOGS=${KEEP_LOGS:-0}
log_histogram() {  # $1 h2load log -> stdout
  awk -F'\t' '$2 ~ /^2/ {b = int($3 / 50) * 50; n[b]++} END {for (b in n) print b "\t" n[b]}' "$1" | sort -n |
    { printf 'bucket_start_us\tcount\n'; cat; }
}

RESULTS=$BENCH_DIR/results.tsv
: >"$RESULTS"

measure() {  # $1 server name (nginx|levee), $2 round
  local name=$1 round=$2 port pid
  if [[ $name == nginx ]]; then
    start_nginx_h2; port=$NGINX_PORT; pid=$(nginx_worker_pid)
  else
    start_levee; port=$LEVEE_PORT; pid=$LEVEE_PID
    wait_h2c "$LEVEE_PORT" 10 || bench_die "levee does not answer h2c"
  fi
  run_h2load "$port" "$WARMUP" "$RAW_DIR/warmup-$round-$name.txt" ""
  local load t0 t1 w0 w1 out=$RAW_DIR/h2load-$round-$name.txt reqlog=$RAW_DIR/h2load-$round-$name.log
  load=$(load_average)
  # CPU over the measured run: the proxy's, the upstream's and h2load's (user+system), and
  # the whole machine's busy time, so that the table shows which core was the limit and how
  # much the rest of the machine (builds, other sessions) took.
  local u0 u1 m0 m1 client_cpu
  m0=$(machine_busy); u0=$(cpu_ticks "$UPSTREAM_PID")
  t0=$(cpu_ticks "$pid"); w0=$(date +%s.%N)
  client_cpu=$( { TIMEFORMAT='%U %S'; time run_h2load "$port" "$DURATION" "$out" "$reqlog"; } 2>&1 | awk '{print $1 + $2}') ||
    { cat "$out" >&2; bench_die "h2load failed against $name"; }
  t1=$(cpu_ticks "$pid"); w1=$(date +%s.%N)
  m1=$(machine_busy); u1=$(cpu_ticks "$UPSTREAM_PID")
  local ups_pct cli_pct other_pct
  ups_pct=$(awk -v a="$u0" -v b="$u1" -v hz="$CLK_TCK" -v w0="$w0" -v w1="$w1" 'BEGIN {printf "%.0f", 100 * (b - a) / hz / (w1 - w0)}')
  cli_pct=$(awk -v c="$client_cpu" -v w0="$w0" -v w1="$w1" 'BEGIN {printf "%.0f", 100 * c / (w1 - w0)}')
  other_pct=$(awk -v m="$((m1 - m0))" -v s="$((t1 - t0))" -v u="$((u1 - u0))" -v c="$client_cpu" \
    -v hz="$CLK_TCK" -v w0="$w0" -v w1="$w1" 'BEGIN {
      o = (m - s - u) / hz - c; if (o < 0) o = 0; printf "%.0f", 100 * o / (w1 - w0) }')

  local rps total ok failed errored non2xx p50 p99 cpu us_per_req
  rps=$(awk '/^finished in/ {gsub(",", "", $4); print $4}' "$out")
  # "requests: 60231 total, 60231 started, 60231 done, 60231 succeeded, 0 failed, 0 errored, 0 timeout"
  total=$(awk '/^requests:/ {print $2}' "$out")
  ok=$(awk '/^requests:/ {print $8}' "$out")
  failed=$(awk '/^requests:/ {print $10}' "$out")
  errored=$(awk '/^requests:/ {print $12}' "$out")
  non2xx=$(awk '/^status codes:/ {gsub(",", ""); print $5 + $7 + $9}' "$out")
  [[ -n $rps && -n $total ]] || { cat "$out" >&2; bench_die "could not parse h2load output for $name"; }
  p50=$(log_percentile "$reqlog" 0.50)
  p99=$(log_percentile "$reqlog" 0.99)
  cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" -v w0="$w0" -v w1="$w1" 'BEGIN {printf "%.0f", 100 * (b - a) / hz / (w1 - w0)}')
  us_per_req=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" -v n="$ok" 'BEGIN {printf "%.1f", (n > 0 ? 1e6 * (b - a) / hz / n : 0)}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$rps" "$p50" "$p99" "$cpu" \
    "$us_per_req" "$total/$ok/$((failed + errored))/$non2xx" "$load" "$(wc -l <"$reqlog")" \
    "$cli_pct" "$ups_pct" "$other_pct" >>"$RESULTS"
  bench_log "round $round $name: $rps req/s, p50 $p50 ms, p99 $p99 ms, server cpu $cpu% ($us_per_req us/req), h2load cpu $cli_pct%, upstream cpu $ups_pct%, other cpu $other_pct%, requests total/ok/failed/non2xx $total/$ok/$((failed + errored))/$non2xx, load $load"

  if [[ -n $OUT_DIR ]]; then
    log_histogram "$reqlog" >"$RAW_DIR/h2load-$round-$name.hist.tsv"
    [[ $KEEP_LOGS == 1 ]] || rm -f "$reqlog"
  fi

  if [[ $name == nginx ]]; then stop_nginx; else stop_levee; fi
  sleep 1
}

bench_log "start: load average $(load_average); nice $NICE; $(cat /proc/self/autogroup 2>/dev/null || echo 'no autogroup'); proxy on cpu $SERVER_CPU, h2load on cpu $CLIENT_CPU, upstream on cpu $UPSTREAM_CPU; $ROUNDS rounds of h2load -c $CLIENTS -m $STREAMS -D $DURATION (warm-up $WARMUP s)"
for round in $(seq "$ROUNDS"); do
  if ((round % 2)); then order=(nginx levee); else order=(levee nginx); fi
  for name in "${order[@]}"; do measure "$name" "$round"; done
done

echo
printf '%-5s %-6s %9s %7s %7s %7s %10s %7s %7s %7s %-24s %s\n' round server 'req/s' 'p50 ms' 'p99 ms' 'srv cpu' 'cpu us/req' 'h2load' 'ups cpu' 'other' 'reqs total/ok/fail/non2xx' 'load avg (1/5/15 min)'
awk -F'\t' '{printf "%-5s %-6s %9.0f %7.3f %7.3f %6s%% %10s %6s%% %6s%% %6s%% %-24s %s\n", $1, $2, $3, $4, $5, $6, $7, $11, $12, $13, $8, $9}' "$RESULTS"

median() {  # $1 server, $2 column
  awk -F'\t' -v s="$1" -v c="$2" '$2 == s {print $c}' "$RESULTS" | sort -g |
    awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
range() {  # $1 server, $2 column: "min..max"
  awk -F'\t' -v s="$1" -v c="$2" '$2 == s {print $c}' "$RESULTS" | sort -g | awk 'NR == 1 {a = $1} {b = $1} END {print a ".." b}'
}
L_RPS=$(median levee 3); N_RPS=$(median nginx 3)
L_P50=$(median levee 4); N_P50=$(median nginx 4)
L_P99=$(median levee 5); N_P99=$(median nginx 5)
L_CPU=$(median levee 6); N_CPU=$(median nginx 6)
L_US=$(median levee 7); N_US=$(median nginx 7)
echo
echo "medians of $ROUNDS runs (range in brackets):"
printf '  levee: %.0f req/s [%s], p50 %.3f ms, p99 %.3f ms [%s], server cpu %s%% (%s us/req)\n' "$L_RPS" "$(range levee 3)" "$L_P50" "$L_P99" "$(range levee 5)" "$L_CPU" "$L_US"
printf '  nginx: %.0f req/s [%s], p50 %.3f ms, p99 %.3f ms [%s], server cpu %s%% (%s us/req)\n' "$N_RPS" "$(range nginx 3)" "$N_P50" "$N_P99" "$(range nginx 5)" "$N_CPU" "$N_US"
awk -v lr="$L_RPS" -v nr="$N_RPS" -v lp="$L_P99" -v np="$N_P99" 'BEGIN {
  printf "  throughput ratio levee/nginx = %.3f  (target >= 1.0: %s)\n", lr / nr, (lr >= nr ? "met" : "NOT met")
  printf "  p99 ratio levee/nginx       = %.3f  (target <= 1.0: %s)\n", lp / np, (lp <= np ? "met" : "NOT met") }'
if [[ -n $OUT_DIR ]]; then
  { printf 'round\tserver\treq_per_s\tp50_ms\tp99_ms\tserver_cpu_pct\tcpu_us_per_req\trequests_total_ok_failed_non2xx\tload_avg\tlog_lines\th2load_cpu_pct\tupstream_cpu_pct\tother_cpu_pct\n'; cat "$RESULTS"; } >"$OUT_DIR/results.tsv"
  cp "$NGINX_CONF" "$OUT_DIR/nginx.conf"
  cp "$LEVEE_CONF" "$OUT_DIR/levee.toml"
  echo "raw h2load outputs in $OUT_DIR"
fi
exit 0
