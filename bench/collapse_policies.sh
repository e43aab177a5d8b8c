#!/usr/bin/env bash
# Issue 4's policy table: one scenario (default: seed 000's waves) against levee in front of
# levee-upstream, once per collapse configuration, in one run. Each configuration is the
# bench/peers levee config with the /api/ route's mode and [routes.collapse] table set through
# levee's own environment overrides. Run by hand, never in CI; results in docs/benchmarks.md.
#
#   bench/collapse_policies.sh [--rounds N] [--out FILE.jsonl] [SCENARIO.toml]
#   UPSTREAM_LATENCY=50ms bench/collapse_policies.sh --rounds 3
#
# Configurations (label: [routes.collapse] as TOML), override with VARIANTS (one per line):
#   pass                  mode = "pass"
#   inflight              strategy = "inflight"
#   window-immediate      strategy = "window", policy = "immediate"
#   window-timer-50ms     seed 000's fixed 50 ms timer (size cap 128 as the envelope)
#   window-size-128       seed 000's size cap 128 (max_wait 1 s as the envelope)
#   window-timer-2ms      a 2 ms window
#   window-adaptive-50ms  issue 7's adaptive policy inside seed 000's envelope (cap 128, 50 ms)
#   window-learned-50ms   the shipped models/flush_policy.onnx inside the same envelope
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/peers/peers.sh
source "$(dirname "${BASH_SOURCE[0]}")/peers/peers.sh"

LEVEE_BENCH_BIN=${LEVEE_BENCH_BIN:-$BENCH_ROOT/build/bin/levee-bench}
PYTHON=/usr/bin/python3
rounds=3
out=""
scenario=$BENCH_ROOT/bench/scenarios/waves.toml
while (($#)); do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -*) bench_die "unknown option $1" ;;
    *) scenario=$1; shift ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || bench_die "--rounds wants a positive integer"
[[ -r $scenario ]] || bench_die "scenario $scenario not readable"
[[ -x $LEVEE_BIN && -x $LEVEE_BENCH_BIN && -x $UPSTREAM_BIN ]] ||
  bench_die "build first: cmake --build --preset release"

DEFAULT_VARIANTS='pass|
inflight|{strategy = "inflight"}
window-immediate|{strategy = "window", policy = "immediate"}
window-timer-50ms|{strategy = "window", policy = "timer", max_wait = "50ms", max_waiters = 127}
window-size-128|{strategy = "window", policy = "size", max_wait = "1s", max_waiters = 127}
window-timer-2ms|{strategy = "window", policy = "timer", max_wait = "2ms"}
window-adaptive-50ms|{strategy = "window", policy = "adaptive", max_wait = "50ms", max_waiters = 127}
window-learned-50ms|{strategy = "window", policy = "learned", model = "'"$BENCH_ROOT"'/models/flush_policy.onnx", max_wait = "50ms", max_waiters = 127}'
mapfile -t variants <<<"${VARIANTS:-$DEFAULT_VARIANTS}"

bench_results_file "$out" collapse_policies
out=$BENCH_OUT
lines_before=$BENCH_LINES_BEFORE

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
peers_setup_dir
bench_check_ports "$UPSTREAM_PORT" "$LEVEE_PORT" "$LEVEE_ADMIN_PORT"
start_upstream
bench_log "levee-upstream on 127.0.0.1:$UPSTREAM_PORT (latency ${UPSTREAM_LATENCY:-0ms}); $scenario; $rounds round(s)"
write_levee_peer_conf

n=${#variants[@]}
for round in $(seq "$rounds"); do
  for i in $(seq 0 $((n - 1))); do
    variant=${variants[$(((i + round - 1) % n))]}
    label=${variant%%|*}
    table=${variant#*|}
    if [[ -n $table ]]; then
      export LEVEE_ROUTES__api__MODE=collapse LEVEE_ROUTES__api__COLLAPSE=$table
    fi
    start_levee  # ready on its "levee ready" line (an HTTP probe of /api/ would park in a window)
    unset LEVEE_ROUTES__api__MODE LEVEE_ROUTES__api__COLLAPSE
    rc=0
    "${PRIO[@]}" timeout --kill-after=10 900 taskset -c "$CLIENT_CPU" "$LEVEE_BENCH_BIN" \
      --scenario "$scenario" --target "http://127.0.0.1:$LEVEE_PORT" \
      --upstream-stats "http://127.0.0.1:$UPSTREAM_PORT/__stats" --label "$label" \
      --json-out "$out" --progress off --quiet >/dev/null || rc=$?
    # levee's own count of the slots it sent, by reason: the forced flush rate of seed 000's
    # table (sent by the envelope: timeout, size_cap) and the average group size.
    curl -s --max-time 5 "http://127.0.0.1:$LEVEE_ADMIN_PORT/metrics" >"$BENCH_DIR/metrics.txt" || true
    stop_levee
    "$PYTHON" - "$out" "$BENCH_DIR/metrics.txt" <<'PYEOF'
import json, re, sys
out, metrics = sys.argv[1], open(sys.argv[2]).read()
flushes = {m.group(1): float(m.group(2)) for m in re.finditer(
    r'^levee_batch_flush_total\{route="api",reason="([a-z_]+)"\} ([0-9.e+]+)$', metrics, re.M)}
lines = open(out).read().splitlines()
r = json.loads(lines[-1])
total = sum(flushes.values())
r["levee_flushes_by_reason"] = flushes
r["forced_flush_rate"] = (flushes.get("timeout", 0) + flushes.get("size_cap", 0)) / total if total else None
r["avg_batch"] = r["requests"] / r["upstream_calls"] if r.get("upstream_calls") else None
lines[-1] = json.dumps(r)
open(out, "w").write("\n".join(lines) + "\n")
PYEOF
    bench_log "round $round $label: $(tail -n 1 "$out" | "$PYTHON" -c 'import json,sys; r=json.loads(sys.stdin.read()); f=r.get("forced_flush_rate"); print("p50 %.3f ms, p99 %.3f ms, reduction %.4f, forced %s, errors %d, mismatches %d" % (r["p50_ms"], r["p99_ms"], r["upstream_reduction"], "-" if f is None else "%.3f" % f, r["errors"], r["mismatches"]))') (exit $rc)"
  done
done

this_run=$BENCH_DIR/this_run.jsonl
tail -n +"$((lines_before + 1))" "$out" >"$this_run"
"$PYTHON" "$BENCH_ROOT/bench/plot.py" --table "$this_run"
echo "results: $out"
