#!/usr/bin/env bash
# Pass-through benchmark of issue 2: levee (1 worker) vs nginx (1 worker, proxy_pass with an
# upstream keepalive pool) in front of levee-upstream with zero latency, small GET, same wrk.
# Run by hand, never in CI. Results and method: docs/benchmarks.md.
#
#   bench/pass_vs_nginx.sh                 # 3 rounds, wrk -t1 -c50 -d10s, 2 s warm-up
#   ROUNDS=5 DURATION=20s bench/pass_vs_nginx.sh
#   OUT_DIR=/tmp/pass-results bench/pass_vs_nginx.sh   # keep the raw wrk outputs
#
# Placement (2-core machine): the proxy under test on core 0 (SERVER_CPU), wrk and the mock
# upstream on core 1 (CLIENT_CPU, UPSTREAM_CPU). Only one proxy runs at a time: each is
# started fresh for its measurement and stopped after it. The order alternates each round
# (nginx first in odd rounds, levee first in even ones).
#
# Environment: ROUNDS (3), DURATION (10s), WARMUP (2s), CONNECTIONS (50), THREADS (1),
# UPSTREAM_PORT/NGINX_PORT/LEVEE_PORT/LEVEE_ADMIN_PORT, SERVER_CPU/CLIENT_CPU/UPSTREAM_CPU,
# NICE (0; e.g. -10 as root to run ahead of other jobs on the machine),
# PERF=1 (record `perf record -g` of levee during its last measured run, if perf exists).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-1}
PATH_UNDER_TEST=/api/bench
OUT_DIR=${OUT_DIR:-}

for tool in wrk taskset curl ss "$NGINX_BIN"; do
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

write_nginx_conf
write_levee_conf
start_upstream
bench_log "levee-upstream pid $UPSTREAM_PID on 127.0.0.1:$UPSTREAM_PORT (cpu $UPSTREAM_CPU)"

# utime+stime of a process in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)
# Busy ticks of the whole machine (user + nice + system, all CPUs) and steal ticks.
machine_busy() { awk '$1 == "cpu" {print $2 + $3 + $4}' /proc/stat; }
machine_steal() { awk '$1 == "cpu" {print $9}' /proc/stat; }

# wrk latency figure ("155.00us", "1.20ms", "1.01s", "2.00m") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}

run_wrk() {  # $1 port, $2 duration, $3 output file
  timeout 120 "${PRIO[@]}" taskset -c "$CLIENT_CPU" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2" --latency \
    "http://127.0.0.1:$1$PATH_UNDER_TEST" >"$3" 2>&1
}

RESULTS=$BENCH_DIR/results.tsv
: >"$RESULTS"

measure() {  # $1 server name (nginx|levee), $2 round
  local name=$1 round=$2 port pid
  if [[ $name == nginx ]]; then
    start_nginx; port=$NGINX_PORT; pid=$(nginx_worker_pid)
  else
    start_levee; port=$LEVEE_PORT; pid=$LEVEE_PID
  fi
  local bytes
  bytes=$(curl -s -o /dev/null -w '%{size_header}+%{size_download}' "http://127.0.0.1:$port$PATH_UNDER_TEST")

  run_wrk "$port" "$WARMUP" "$RAW_DIR/warmup-$round-$name.txt"
  local load t0 t1 out=$RAW_DIR/wrk-$round-$name.txt perf_pid=""
  load=$(load_average)
  if [[ ${PERF:-0} == 1 && $name == levee && $round == "$ROUNDS" ]] && command -v perf >/dev/null; then
    timeout 60 perf record -g -F 499 -p "$pid" -o "$RAW_DIR/perf-levee.data" -- sleep 8 \
      >/dev/null 2>&1 &
    perf_pid=$!
  fi
  # Noise check: CPU used on the machine during the run by anything but the proxy, the
  # upstream and wrk ("other", in % of one core; 200% = both cores).
  local w0 w1 u0 u1 m0 m1 st0 st1 wrk_cpu
  m0=$(machine_busy); st0=$(machine_steal); u0=$(cpu_ticks "$UPSTREAM_PID")
  t0=$(cpu_ticks "$pid"); w0=$(date +%s.%N)
  wrk_cpu=$( { TIMEFORMAT='%U %S'; time run_wrk "$port" "$DURATION" "$out"; } 2>&1 | awk '{print $1 + $2}')
  t1=$(cpu_ticks "$pid"); w1=$(date +%s.%N)
  m1=$(machine_busy); st1=$(machine_steal); u1=$(cpu_ticks "$UPSTREAM_PID")
  local other steal
  other=$(awk -v m="$((m1 - m0))" -v s="$((t1 - t0))" -v u="$((u1 - u0))" -v w="$wrk_cpu" \
    -v hz="$CLK_TCK" -v w0="$w0" -v w1="$w1" 'BEGIN {
      o = (m - s - u) / hz - w; if (o < 0) o = 0; printf "%.0f", 100 * o / (w1 - w0) }')
  steal=$(awk -v d="$((st1 - st0))" -v hz="$CLK_TCK" -v w0="$w0" -v w1="$w1" 'BEGIN {printf "%.0f", 100 * d / hz / (w1 - w0)}')
  if [[ -n $perf_pid ]]; then wait "$perf_pid" 2>/dev/null || true; fi

  local rps p50 p99 errs non2xx total
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  errs=$(awk -F'[ ,]+' '/Socket errors:/ {print $5 + $7 + $9 + $11}' "$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$out")
  total=$(awk '/requests in/ {print $1}' "$out")
  # Server CPU (user+system, all threads) over the measured run: share of one core, and
  # CPU time per answered request.
  local cpu
  cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" -v w0="$w0" -v w1="$w1" 'BEGIN {printf "%.0f", 100 * (b - a) / hz / (w1 - w0)}')
  [[ -n $rps ]] || { cat "$out" >&2; bench_die "could not parse wrk output for $name"; }
  local us_per_req
  us_per_req=$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" -v n="$total" 'BEGIN {printf "%.1f", 1e6 * (b - a) / hz / n}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$rps" "$p50" "$p99" "$cpu" \
    "${errs:-0}+${non2xx:-0}" "$bytes" "$load" "$us_per_req" "$other" "$steal" >>"$RESULTS"
  bench_log "round $round $name: $rps req/s, p50 $p50 ms, p99 $p99 ms, server cpu $cpu% ($us_per_req us/req), other cpu $other%, load $load"

  if [[ $name == nginx ]]; then stop_nginx; else stop_levee; fi
  sleep 1
}

bench_log "start: load average $(load_average); nice $NICE; upstream on cpu $UPSTREAM_CPU; $ROUNDS rounds of wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
for round in $(seq "$ROUNDS"); do
  if ((round % 2)); then order=(nginx levee); else order=(levee nginx); fi
  for name in "${order[@]}"; do measure "$name" "$round"; done
done

echo
printf '%-5s %-6s %8s %7s %7s %7s %10s %9s %6s %10s %-10s %s\n' round server 'req/s' 'p50 ms' 'p99 ms' 'srv cpu' 'cpu us/req' 'other cpu' 'steal' 'err+non2xx' 'resp bytes' 'load avg (1/5/15 min)'
awk -F'\t' '{printf "%-5s %-6s %8.0f %7.3f %7.3f %6s%% %10s %8s%% %5s%% %10s %-10s %s\n", $1, $2, $3, $4, $5, $6, $10, $11, $12, $7, $8, $9}' "$RESULTS"

median() {  # $1 server, $2 column
  awk -F'\t' -v s="$1" -v c="$2" '$2 == s {print $c}' "$RESULTS" | sort -g |
    awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
L_RPS=$(median levee 3); N_RPS=$(median nginx 3)
L_P50=$(median levee 4); N_P50=$(median nginx 4)
L_P99=$(median levee 5); N_P99=$(median nginx 5)
L_CPU=$(median levee 6); N_CPU=$(median nginx 6)
L_US=$(median levee 10); N_US=$(median nginx 10)
echo
echo "medians of $ROUNDS runs:"
printf '  levee: %.0f req/s, p50 %.3f ms, p99 %.3f ms, server cpu %s%% (%s us/req)\n' "$L_RPS" "$L_P50" "$L_P99" "$L_CPU" "$L_US"
printf '  nginx: %.0f req/s, p50 %.3f ms, p99 %.3f ms, server cpu %s%% (%s us/req)\n' "$N_RPS" "$N_P50" "$N_P99" "$N_CPU" "$N_US"
awk -v lr="$L_RPS" -v nr="$N_RPS" -v lp="$L_P99" -v np="$N_P99" 'BEGIN {
  printf "  throughput ratio levee/nginx = %.3f  (target >= 1.0: %s)\n", lr / nr, (lr >= nr ? "met" : "NOT met")
  printf "  p99 ratio levee/nginx       = %.3f  (target <= 1.0: %s)\n", lp / np, (lp <= np ? "met" : "NOT met") }'
[[ -n $OUT_DIR ]] && cp "$RESULTS" "$OUT_DIR/results.tsv" && echo "raw wrk outputs in $OUT_DIR"
exit 0
