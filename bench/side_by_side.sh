#!/usr/bin/env bash
# Side-by-side comparison: the same levee-bench scenarios against levee (pass), nginx
# (proxy_cache + cache lock), varnish (cache + waiting list) and haproxy (pass-through), each
# in front of the same levee-upstream. Run by hand, never in CI. The peers and their configs:
# bench/peers/peers.sh.
#
#   bench/side_by_side.sh [--systems levee,nginx,varnish,haproxy] [--rounds N] [--out FILE.jsonl]
#                         SCENARIO.toml...
#
#   bench/side_by_side.sh bench/scenarios/hot_keys_users.toml
#   UPSTREAM_LATENCY=50ms bench/side_by_side.sh --rounds 5 --out /tmp/w.jsonl bench/scenarios/waves.toml
#   UPSTREAM_BATCH_LATENCY=50ms bench/side_by_side.sh --systems levee,haproxy bench/scenarios/batch_items.toml
#
# The upstream starts once; then for each round, for each scenario, for each system (the
# order rotates by one each round, so no system always runs first or last) the system is
# started fresh, levee-bench runs against it and appends one JSON line to the --out file, and
# the system is stopped. At the end a table gives, per system and scenario, medians over the
# rounds (bench/plot.py --table). Charts: bench/plot.py FILE.jsonl --out-dir DIR.
#
# Placement (2-core machine): the system under test on core 0 (SERVER_CPU), levee-bench and the
# mock upstream on core 1 (CLIENT_CPU, UPSTREAM_CPU).
#
# Environment: UPSTREAM_LATENCY (0ms), UPSTREAM_BATCH_LATENCY (unset: same as the latency),
# EXTRA_BENCH_ARGS (added to every levee-bench command line, split on spaces, e.g.
# "--set phase.0.rate=500 --progress off"), RUN_TIMEOUT (900 s, per levee-bench run),
# LEVEE_BENCH_BIN, SHOW_BENCH_OUTPUT=1 (print levee-bench's human summary of each run), the
# ports and CPUs of bench/lib.sh and bench/peers/peers.sh, NICE, TMPDIR (default: /dev/shm,
# see peers_setup_dir), BENCH_KEEP_DIR=1 (keep the configs and logs in the temporary
# directory).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/peers/peers.sh
source "$(dirname "${BASH_SOURCE[0]}")/peers/peers.sh"

LEVEE_BENCH_BIN=${LEVEE_BENCH_BIN:-$BENCH_ROOT/build/bin/levee-bench}
RUN_TIMEOUT=${RUN_TIMEOUT:-900}
PYTHON=/usr/bin/python3

usage() {
  local all
  all=$(IFS=,; echo "${PEER_NAMES[*]}")
  cat >&2 <<EOF
usage: bench/side_by_side.sh [--systems $all] [--rounds N] [--out FILE.jsonl]
                             SCENARIO.toml...
EOF
  exit 2
}

systems_arg=$(IFS=,; echo "${PEER_NAMES[*]}")
rounds=3
out=""
scenarios=()
while (($#)); do
  case $1 in
    --systems) (($# >= 2)) || usage; systems_arg=$2; shift 2 ;;
    --rounds) (($# >= 2)) || usage; rounds=$2; shift 2 ;;
    --out) (($# >= 2)) || usage; out=$2; shift 2 ;;
    -h | --help) usage ;;
    -*) bench_log "unknown option $1"; usage ;;
    *) scenarios+=("$1"); shift ;;
  esac
done
((${#scenarios[@]})) || usage
[[ $rounds =~ ^[1-9][0-9]*$ ]] || bench_die "--rounds wants a positive integer, not '$rounds'"
IFS=, read -r -a systems <<<"$systems_arg"
((${#systems[@]})) || bench_die "--systems is empty"
for s in "${systems[@]}"; do peer_known "$s" || bench_die "unknown system '$s' (known: ${PEER_NAMES[*]})"; done
for f in "${scenarios[@]}"; do [[ -r $f ]] || bench_die "scenario $f not readable"; done
read -r -a extra_args <<<"${EXTRA_BENCH_ARGS:-}"

for tool in taskset curl ss timeout "$PYTHON"; do
  command -v "$tool" >/dev/null || bench_die "$tool not found"
done
[[ -x $LEVEE_BENCH_BIN && -x $UPSTREAM_BIN ]] ||
  bench_die "build first: cmake --build --preset release --target levee-bench levee-upstream levee"
for s in "${systems[@]}"; do peer_check_tools "$s"; done

bench_results_file "$out" side_by_side
out=$BENCH_OUT
lines_before=$BENCH_LINES_BEFORE

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

peers_setup_dir
ports=("$UPSTREAM_PORT")
for s in "${systems[@]}"; do mapfile -t -O "${#ports[@]}" ports < <(peer_ports "$s"); done
bench_check_ports "${ports[@]}"

start_upstream
bench_log "levee-upstream pid $UPSTREAM_PID on 127.0.0.1:$UPSTREAM_PORT (cpu $UPSTREAM_CPU," \
  "latency ${UPSTREAM_LATENCY:-0ms}${UPSTREAM_BATCH_LATENCY:+, batch $UPSTREAM_BATCH_LATENCY})"
for s in "${systems[@]}"; do write_peer_conf "$s"; done

# One line per run on the log: the figures of the JSON line levee-bench just appended.
describe_run() {
  "$PYTHON" -c '
import json, sys
r = json.loads(sys.argv[1])
def f(k, fmt):
    v = r.get(k)
    return "-" if v is None else fmt % v
print("p50 %s ms, p99 %s ms, upstream reduction %s, %s req/s, errors %s, mismatches %s" % (
    f("p50_ms", "%.3f"), f("p99_ms", "%.3f"), f("upstream_reduction", "%.3f"),
    f("rate_achieved", "%.0f"), f("errors", "%d"), f("mismatches", "%d")))
' "$1" 2>/dev/null || echo "(unreadable JSON line)"
}

run_one() {  # $1 round, $2 scenario file, $3 system
  local round=$1 scenario=$2 system=$3 port rc=0 before after log
  port=$(peer_port "$system")
  log=$BENCH_DIR/run-$round-$(basename "$scenario" .toml)-$system.txt
  start_peer "$system"
  before=$(wc -l <"$out")
  # In the background and waited for, so that SIGTERM interrupts the wait (bash runs traps
  # only between foreground commands) and bench_cleanup stops the generator too.
  "${PRIO[@]}" timeout --kill-after=10 "$RUN_TIMEOUT" taskset -c "$CLIENT_CPU" "$LEVEE_BENCH_BIN" \
    --scenario "$scenario" --target "http://127.0.0.1:$port" \
    --upstream-stats "http://127.0.0.1:$UPSTREAM_PORT/__stats" --label "$system" --json-out "$out" \
    "${extra_args[@]}" >"$log" 2>&1 &
  local bench_pid=$!
  BENCH_PIDS+=("$bench_pid")
  wait "$bench_pid" || rc=$?
  bench_forget_pid "$bench_pid"
  after=$(wc -l <"$out")
  stop_peer "$system"
  if [[ ${SHOW_BENCH_OUTPUT:-0} == 1 ]]; then cat "$log" >&2; fi
  # levee-bench exits 1 on mismatches (the line is still written), 124 is our timeout.
  if ((after != before + 1)); then
    tail -n 20 "$log" >&2
    bench_log "round $round $(basename "$scenario") $system: no result line (levee-bench exit $rc)"
    return 0
  fi
  ((rc == 0)) || bench_log "warning: levee-bench exited $rc"
  bench_log "round $round $(basename "$scenario") $system: $(describe_run "$(tail -n 1 "$out")")"
}

bench_log "start: ${#scenarios[@]} scenario(s) x ${#systems[@]} system(s) x $rounds round(s)," \
  "load average $(load_average), results appended to $out"
n=${#systems[@]}
for round in $(seq "$rounds"); do
  order=()
  for i in $(seq 0 $((n - 1))); do order+=("${systems[$(((i + round - 1) % n))]}"); done
  for scenario in "${scenarios[@]}"; do
    for system in "${order[@]}"; do run_one "$round" "$scenario" "$system"; done
  done
done

this_run=$BENCH_DIR/this_run.jsonl
tail -n +"$((lines_before + 1))" "$out" >"$this_run"
echo
"$PYTHON" "$BENCH_ROOT/bench/plot.py" --table "$this_run"
echo
echo "results: $out   charts: bench/plot.py $out --out-dir DIR"
