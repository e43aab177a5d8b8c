#!/usr/bin/env bash
# Is levee-bench itself the bottleneck? Both load generators, closed loop, against the same
# trivial target: nginx answering `return 200` from memory (1 worker on SERVER_CPU), the
# generator alone on CLIENT_CPU. Rounds alternate the order; each run reports requests/s and
# the CPU seconds the generator used (requests per CPU second is the efficiency figure that
# does not depend on whether the target or the generator saturated first).
# Run by hand, never in CI; results in docs/benchmarks.md.
#
#   bench/generator_vs_wrk.sh                    # 5 rounds, 50 connections, 10 s each
#   ROUNDS=3 DURATION=5 CONNECTIONS=100 bench/generator_vs_wrk.sh
#   OPEN_RATES="25000 50000 75000" bench/generator_vs_wrk.sh   # then open-loop ceilings
#
# OPEN_RATES (default "25000 50000 75000"; empty to skip): after the closed-loop rounds,
# levee-bench alone in open loop at each constant rate for DURATION seconds against the same
# target: the rate it answered and how late it released requests (its dispatch lag), i.e.
# the highest schedule it can keep on one core.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10}   # seconds
CONNECTIONS=${CONNECTIONS:-50}
BENCH_BIN=${BENCH_BIN:-$BENCH_ROOT/build/bin/levee-bench}
STATIC_PORT=${STATIC_PORT:-19710}

for tool in wrk taskset curl python3 "$NGINX_BIN"; do
  command -v "$tool" >/dev/null || bench_die "$tool not found"
done
[[ -x $BENCH_BIN ]] || bench_die "build first: cmake --build --preset release --target levee-bench"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_setup_dir
bench_check_ports "$STATIC_PORT"

dir=$BENCH_DIR/static
mkdir -p "$dir/logs" "$dir/tmp"
chmod -R 755 "$dir"
cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
error_log $dir/logs/error.log warn;
pid $dir/logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
$(nginx_temp_paths "$dir")
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:$STATIC_PORT;
        location / { return 200 "ok\n"; }
    }
}
CONF
"${PRIO[@]}" taskset -c "$SERVER_CPU" "$NGINX_BIN" -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' \
  >"$dir/stderr" 2>&1 &
BENCH_PIDS+=("$!")
bench_wait_http "$STATIC_PORT" 10 || { cat "$dir/stderr" >&2; bench_die "nginx did not start"; }

cat >"$BENCH_DIR/closed.toml" <<TOML
name = "generator-vs-wrk"
description = "closed loop against a static answer"
mode = "closed"
connections = $CONNECTIONS
duration = "${DURATION}s"
verify = "status"
[request]
path = "/api/bench"
TOML

# Runs "$@" on CLIENT_CPU; prints its user+system CPU seconds on fd 3.
cpu_of() {
  /usr/bin/time -f '%U %S' -o "$BENCH_DIR/time" "${PRIO[@]}" taskset -c "$CLIENT_CPU" "$@"
  awk '{printf "%.2f\n", $1 + $2}' "$BENCH_DIR/time" >&3
}

results=$BENCH_DIR/results.txt
: >"$results"
run_wrk() {
  local out cpu rps
  out=$(cpu_of wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$STATIC_PORT/api/bench" 3>"$BENCH_DIR/cpu")
  cpu=$(cat "$BENCH_DIR/cpu")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  echo "wrk $rps $cpu" | tee -a "$results"
}
run_bench() {
  local out cpu rps
  out=$(cpu_of "$BENCH_BIN" --scenario "$BENCH_DIR/closed.toml" \
    --target "http://127.0.0.1:$STATIC_PORT" --quiet 3>"$BENCH_DIR/cpu")
  cpu=$(cat "$BENCH_DIR/cpu")
  rps=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["rate_achieved"])' <<<"$out")
  echo "levee-bench $rps $cpu" | tee -a "$results"
}

bench_log "machine: $(nproc) cores, load $(load_average); target nginx on cpu $SERVER_CPU, generator on cpu $CLIENT_CPU"
for round in $(seq "$ROUNDS"); do
  bench_log "round $round/$ROUNDS"
  if ((round % 2)); then run_wrk; run_bench; else run_bench; run_wrk; fi
done

cat >"$BENCH_DIR/open.toml" <<TOML
name = "generator-open-loop"
description = "open loop against a static answer"
verify = "status"
[[phase]]
kind = "constant"
rate = 1000
duration = "${DURATION}s"
[request]
path = "/api/bench"
[limits]
max_connections = 4096
TOML
for rate in ${OPEN_RATES-25000 50000 75000}; do
  out=$("${PRIO[@]}" taskset -c "$CLIENT_CPU" "$BENCH_BIN" --scenario "$BENCH_DIR/open.toml" \
    --set "phase.0.rate=$rate" --target "http://127.0.0.1:$STATIC_PORT" --quiet)
  python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print("open loop %6d/s scheduled: %8.0f/s answered, released late p99 %.2f ms (max %.2f), p50 %.2f ms, p99 %.2f ms, errors %d" % (r["rate_scheduled"], r["rate_achieved"], r["dispatch_lag_p99_ms"], r["dispatch_lag_max_ms"], r["p50_ms"], r["p99_ms"], r["errors"]))' <<<"$out"
done

python3 - "$results" "$DURATION" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
duration = float(sys.argv[2])
by = {}
for name, rps, cpu in rows:
    by.setdefault(name, []).append((float(rps), float(cpu)))
print(f"{'generator':<12} {'median req/s':>13} {'runs':>30} {'req per CPU-s':>14}")
med = {}
for name, runs in by.items():
    rates = [r for r, _ in runs]
    per_cpu = [r * duration / c for r, c in runs if c > 0]
    med[name] = statistics.median(rates)
    print(f"{name:<12} {med[name]:>13.0f} {' '.join(f'{r:.0f}' for r in rates):>30} "
          f"{statistics.median(per_cpu):>14.0f}")
if "wrk" in med and "levee-bench" in med:
    print(f"levee-bench / wrk = {med['levee-bench'] / med['wrk']:.2f} (target >= 0.80)")
PY
