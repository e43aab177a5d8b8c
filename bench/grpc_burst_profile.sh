#!/usr/bin/env bash
# Where a gRPC collapse burst's time goes (issue 20; docs/benchmarks.md "Where a burst's time
# goes"). Run by hand, never in CI. The same server, route and burst as
# bench/grpc_collapse_burst.sh's levee-w1000 variant (one slot holds the whole burst), but
# BURSTS bursts against one levee, which runs as MODE says:
#   plain      levee alone: each burst's p50 and p99, levee's CPU per burst
#   perf       levee under `perf record -F 9999 -g` while the bursts run: perf-by-library.txt,
#              perf-top-symbols.txt
#   callgrind  levee under valgrind's callgrind (symbols from a --strip-debug copy, which
#              valgrind reads), counters zeroed after the warm-up and dumped after the bursts:
#              callgrind-top-functions.txt. Latencies under valgrind mean nothing.
#
#   MODE=plain BURSTS=30 OUT_DIR=/tmp/profile bench/grpc_burst_profile.sh
#
# Placement: levee and the server on core 1, h2load on core 0 (as grpc_collapse_burst.sh).
# Writes OUT_DIR/latencies.txt (one line per burst: p50 and p99 in ms) and OUT_DIR/summary.txt.
# Environment: MODE (plain), BURSTS (30), CALLS (1000), CHANNELS (10), UPSTREAM_DELAY_MS (50),
# LEVEE_BIN, LEVEE_PORT/LEVEE_ADMIN_PORT (19832/19833), OUT_DIR (required), NICE, PYTHON.
set -euo pipefail
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
UPSTREAM_CPU=${UPSTREAM_CPU:-1}
LEVEE_PORT=${LEVEE_PORT:-19832}
LEVEE_ADMIN_PORT=${LEVEE_ADMIN_PORT:-19833}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/grpc_burst_lib.sh"

MODE=${MODE:-plain}
BURSTS=${BURSTS:-30}
CALLS=${CALLS:-1000}
CHANNELS=${CHANNELS:-10}
OUT_DIR=${OUT_DIR:?set OUT_DIR}
case $MODE in plain | perf | callgrind) ;; *) bench_die "MODE is plain, perf or callgrind, not $MODE" ;; esac
for tool in taskset curl ss h2load "$PYTHON"; do
  command -v "$tool" >/dev/null || bench_die "$tool not found"
done
[[ $MODE == plain ]] || command -v "$([[ $MODE == perf ]] && echo perf || echo valgrind)" >/dev/null ||
  bench_die "$MODE needs its tool installed"
[[ -x $LEVEE_BIN ]] || bench_die "build levee first: cmake --build --preset release --target levee"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_setup_dir
mkdir -p "$OUT_DIR"
bench_check_ports "$LEVEE_PORT" "$LEVEE_ADMIN_PORT"
start_grpc_peer
write_grpc_request_file
write_levee_grpc_conf 'max_waiters = 1000'

if [[ $MODE == callgrind ]]; then
  strip --strip-debug -o "$BENCH_DIR/levee" "$LEVEE_BIN"
  "${PRIO[@]}" taskset -c "$SERVER_CPU" valgrind --tool=callgrind \
    --callgrind-out-file="$BENCH_DIR/callgrind.out" "$BENCH_DIR/levee" serve --config "$LEVEE_CONF" \
    >"$BENCH_DIR/levee.out" 2>"$BENCH_DIR/levee.stderr" &
  LEVEE_PID=$!
  BENCH_PIDS+=("$LEVEE_PID")
  bench_wait_line "$BENCH_DIR/levee.out" 'levee ready' 60 || { cat "$BENCH_DIR/levee.stderr" >&2; bench_die "levee did not start under valgrind"; }
else
  start_levee
fi

STREAMS=$(((CALLS + CHANNELS - 1) / CHANNELS))
burst() {  # $1 calls, $2 streams per connection; then one line "p50 p99" (ms) on stdout
  rm -f "$BENCH_DIR/h2load.log"
  run_h2load "$LEVEE_PORT" "$1" "$CHANNELS" "$2" "$BENCH_DIR/h2load.txt" "$BENCH_DIR/h2load.log" ||
    { cat "$BENCH_DIR/h2load.txt" >&2; bench_die "h2load failed"; }
  "$PYTHON" -c '
import sys
v = sorted(float(line.split()[2]) / 1000 for line in open(sys.argv[1]))
print("%.2f %.2f" % (v[len(v) // 2], v[min(len(v) - 1, int(len(v) * 0.99))]))' "$BENCH_DIR/h2load.log"
}
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'; }

burst 20 2 >/dev/null  # warm-up: connections up, levee's upstream connection open
PERF_PID=""
case $MODE in
  perf)
    perf record -F 9999 -g -p "$LEVEE_PID" -o "$BENCH_DIR/perf.data" 2>"$BENCH_DIR/perf.err" &
    PERF_PID=$!
    sleep 0.5  # perf attaches
    ;;
  callgrind) callgrind_control -z "$LEVEE_PID" >/dev/null 2>&1 ;;
esac
bench_log "start: load average $(load_average); mode $MODE; $BURSTS bursts of $CALLS calls"
CPU0=$(cpu_ns "$LEVEE_PID")
for _ in $(seq "$BURSTS"); do burst "$CALLS" "$STREAMS"; done >"$OUT_DIR/latencies.txt"
CPU1=$(cpu_ns "$LEVEE_PID")
case $MODE in
  perf)
    kill -INT "$PERF_PID"
    wait "$PERF_PID" || true
    perf report -i "$BENCH_DIR/perf.data" --no-children --stdio --sort dso -g none 2>/dev/null |
      grep -E '^#|^ +[0-9.]+%' >"$OUT_DIR/perf-by-library.txt"
    perf report -i "$BENCH_DIR/perf.data" --no-children --stdio --sort sym -g none 2>/dev/null |
      grep -E '^#|^ +[0-9.]+%' | sed -n '1,120p' >"$OUT_DIR/perf-top-symbols.txt"
    ;;
  callgrind)
    callgrind_control -d "$LEVEE_PID" >/dev/null 2>&1
    # The dump is part 1 of the output file; callgrind_control returns once it is written.
    callgrind_annotate --threshold=100 --inclusive=no "$BENCH_DIR/callgrind.out.1" 2>/dev/null |
      grep -E '^ *[0-9,]+ ' | sed -n '1,150p' | cut -c1-250 >"$OUT_DIR/callgrind-top-functions.txt"
    ;;
esac

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
{
  echo "mode $MODE, $BURSTS bursts of $CALLS calls, levee $LEVEE_BIN, load average $(load_average)"
  echo "median p50 $(cut -d' ' -f1 "$OUT_DIR/latencies.txt" | median) ms, median p99 $(cut -d' ' -f2 "$OUT_DIR/latencies.txt" | median) ms," \
    "p99 range $(cut -d' ' -f2 "$OUT_DIR/latencies.txt" | sort -g | sed -n '1p;$p' | paste -sd- ) ms"
  awk -v a="$CPU0" -v b="$CPU1" -v n="$BURSTS" 'BEGIN {printf "levee CPU per burst %.1f ms\n", (b - a) / 1e6 / n}'
} | tee "$OUT_DIR/summary.txt"
