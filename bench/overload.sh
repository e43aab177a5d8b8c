#!/usr/bin/env bash
# Issue 6's overload benchmark: levee (1 worker, core 0) with one pass route, max_pending 100,
# in front of levee-upstream answering after 50 ms (so the route answers 2,000 requests/s).
# Each round runs bench/scenarios/overload_half.toml (1,000/s, 30 s) and then
# overload_10x.toml (20,000/s, 30 s), and samples levee's RSS once a second during the
# overload. The report gives, per round, the
# accepted requests' p99 at 50 % load and under overload and their ratio (target ≤ 2), the
# shed answers' p99 (error_p99_ms; target < 1 ms), the shed and accepted counts, and levee's
# RSS at the start and the end of the overload and its peak. Run by hand, never in CI; results
# in docs/benchmarks.md "Issue 6".
#
#   bench/overload.sh [--rounds N] [--out FILE.jsonl] [--control]
#
# --control: after each round's overload, the same overload_10x.toml at nginx (1 worker, on
# levee's core) answering every request 503 with Retry-After itself: how fast this machine and
# levee-bench bring back a 503 that costs nothing, the floor under levee's shed p99.
#
# Placement: levee-bench alone on core 1, so that it sends on time at 20,000/s; levee on core
# 0, and the upstream on core 0 too, as SCHED_IDLE, so that levee preempts it at once: the
# upstream stands in for a service on another machine. (With levee-bench and the upstream
# sharing core 1, the generator's own lag tops the shed answers' tail; with the upstream on
# core 0 at levee's priority, their context switches do; at nice 19 it may still finish its
# slice before levee runs: docs/benchmarks.md "Issue 6".)
#
# Environment: the ports, CPUs and NICE of bench/lib.sh (UPSTREAM_CPU defaults to 0 here,
# UPSTREAM_SCHED to idle; UPSTREAM_SCHED= UPSTREAM_NICE=19 gives the earlier placement);
# MAX_PENDING (100), UPSTREAM_LATENCY (50ms), EXTRA_BENCH_ARGS (added to every levee-bench
# command line, e.g. "--connections 256"), BENCH_KEEP_DIR=1 keeps the logs.
set -euo pipefail

UPSTREAM_CPU=${UPSTREAM_CPU:-0}
UPSTREAM_SCHED=${UPSTREAM_SCHED-idle}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LEVEE_BENCH_BIN=${LEVEE_BENCH_BIN:-$BENCH_ROOT/build/bin/levee-bench}
MAX_PENDING=${MAX_PENDING:-100}
export UPSTREAM_LATENCY=${UPSTREAM_LATENCY:-50ms}
PYTHON=/usr/bin/python3

rounds=3
out=""
control=0
while (($#)); do
  case $1 in
    --rounds) (($# >= 2)) || bench_die "--rounds wants a value"; rounds=$2; shift 2 ;;
    --out) (($# >= 2)) || bench_die "--out wants a file"; out=$2; shift 2 ;;
    --control) control=1; shift ;;
    -h | --help) sed -n '2,28p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
    *) bench_die "unknown argument $1" ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || bench_die "--rounds wants a positive integer"
bench_results_file "$out" overload
read -r -a extra_args <<<"${EXTRA_BENCH_ARGS:-}"

trap bench_cleanup EXIT INT TERM
bench_setup_dir
bench_check_ports "$UPSTREAM_PORT" "$LEVEE_PORT" "$LEVEE_ADMIN_PORT"
start_upstream
write_levee_conf
printf 'max_pending = %s\n' "$MAX_PENDING" >>"$LEVEE_CONF"
start_levee
if ((control)); then
  bench_check_ports "$NGINX_PORT"
  write_nginx_conf '            add_header Retry-After 1 always;
            return 503 "at capacity\n";'
  start_nginx
fi
bench_log "levee pid $LEVEE_PID on cpu $SERVER_CPU; upstream on cpu $UPSTREAM_CPU (sched ${UPSTREAM_SCHED:-other}, nice ${UPSTREAM_NICE:-0}); levee-bench on cpu $CLIENT_CPU; max_pending $MAX_PENDING; upstream latency $UPSTREAM_LATENCY"

run_bench() {  # $1 scenario, $2 label, $3 port (levee's)
  "${PRIO[@]}" taskset -c "$CLIENT_CPU" "$LEVEE_BENCH_BIN" --scenario "$1" \
    --target "http://127.0.0.1:${3:-$LEVEE_PORT}" --label "$2" --quiet --progress off \
    --json-out "$BENCH_OUT" "${extra_args[@]}" >"$BENCH_DIR/$2.txt" 2>&1 || true
}

for round in $(seq "$rounds"); do
  run_bench "$BENCH_ROOT/bench/scenarios/overload_half.toml" "half-$round"
  rss_file=$BENCH_DIR/rss-$round.txt
  : >"$rss_file"
  (for _ in $(seq 40); do vm_rss_kib "$LEVEE_PID" >>"$rss_file"; sleep 1; done) &
  sampler=$!
  run_bench "$BENCH_ROOT/bench/scenarios/overload_10x.toml" "overload-$round"
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  echo "{\"label\":\"rss-$round\",\"rss_kib\":[$(paste -sd, "$rss_file")]}" >>"$BENCH_OUT"
  if ((control)); then
    run_bench "$BENCH_ROOT/bench/scenarios/overload_10x.toml" "control-$round" "$NGINX_PORT"
  fi
  bench_log "round $round done"
done

tail -n +"$((BENCH_LINES_BEFORE + 1))" "$BENCH_OUT" | "$PYTHON" -c '
import json, sys
runs = {}
for line in sys.stdin:
    r = json.loads(line)
    runs[r["label"]] = r
rounds = sorted({int(k.split("-")[1]) for k in runs})
print("round  half_p99_ms  overload_p99_ms  ratio  shed_p99_ms  shed_p99_written_ms  dispatch_lag_p99_ms  accepted  shed  rss_start_kib  rss_end_kib  rss_peak_kib  nginx_503_p99_ms  nginx_503_p99_written_ms")
ratios, shed, shed_written, floor, floor_written = [], [], [], [], []
for n in rounds:
    h, o, rss = runs.get(f"half-{n}"), runs.get(f"overload-{n}"), runs.get(f"rss-{n}", {}).get("rss_kib", [])
    c = runs.get(f"control-{n}")
    if c:
        floor.append(c["error_p99_ms"]); floor_written.append(c["error_service_p99_ms"])
    if not h or not o:
        continue
    ratio = o["p99_ms"] / h["p99_ms"] if h["p99_ms"] else float("nan")
    ratios.append(ratio); shed.append(o["error_p99_ms"]); shed_written.append(o["error_service_p99_ms"])
    print("%5d  %11.2f  %15.2f  %5.2f  %11.3f  %19.3f  %19.3f  %8d  %5d  %13d  %11d  %12d  %16s  %24s" % (n,
          h["p99_ms"], o["p99_ms"], ratio, o["error_p99_ms"], o["error_service_p99_ms"],
          o["dispatch_lag_p99_ms"], o["ok"], o["statuses"].get("503", 0),
          rss[0] if rss else 0, rss[-1] if rss else 0, max(rss) if rss else 0,
          "%.3f" % c["error_p99_ms"] if c else "-", "%.3f" % c["error_service_p99_ms"] if c else "-"))
ratios.sort(); shed.sort(); shed_written.sort(); floor.sort(); floor_written.sort()
if ratios:
    print("median ratio %.2f, median shed p99 %.3f ms from the scheduled time, %.3f ms from the "
          "moment written" % (ratios[len(ratios)//2], shed[len(shed)//2],
                              shed_written[len(shed_written)//2]))
if floor:
    print("nginx answering 503 itself (the control): median p99 %.3f ms from the scheduled time, "
          "%.3f ms from the moment written" % (floor[len(floor)//2], floor_written[len(floor_written)//2]))
'
bench_log "results in $BENCH_OUT"
