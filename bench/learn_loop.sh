#!/usr/bin/env bash
# Issue 18's loop closed live, in one run: levee serves a `learned` collapse route on a copy of
# the shipped model and records its flush telemetry; levee-bench drives a workload the model was
# not trained on; training runs on that telemetry; the new model is renamed over the copy;
# levee hot-reloads it (no restart: its model watcher polls the file each second) and the same
# workload runs again. Both runs' upstream reduction, p50, p99 and errors are printed side by
# side and their levee-bench JSON lines appended to --out. Run by hand, never in CI.
#
#   bench/learn_loop.sh [--scenario FILE.toml] [--sink jsonl|kafka] [--iterations N]
#                       [--seed N] [--rounds N] [--no-gate] [--out FILE.jsonl]
#                       [--train-args "ARGS"] [--keep]
#
#   --scenario    the workload, run twice (default bench/scenarios/k6_sparse_then_burst.toml)
#   --sink        jsonl (default): levee's JSONL sink writes the telemetry file; kafka: levee's
#                 Kafka sink sends it to build/bin/levee-kafka-capture (librdkafka's mock
#                 cluster on 127.0.0.1), which writes the same lines back to a file
#   --iterations  PPO iterations of each training (default 30; 50 with --no-gate, as `make
#                 train`; 2 for a smoke run)
#   --seed        training seed (default 7, as `make train`)
#   --rounds      levee-bench runs of the workload before and after (default 3; the medians are
#                 compared, and training sees the telemetry of every run before)
#   --no-gate     train one network from scratch (synthetic mix + telemetry) and promote it
#                 unconditionally, instead of the gated candidates below
#   --out         JSON lines file the two levee-bench results are appended to
#                 (default results/learn_loop-<UTC time>.jsonl)
#   --train-args  more arguments for `python3 -m levee_rl.train`, word-split
#   --keep        keep the temporary directory (configs, logs, telemetry, models) and say where
#
# Nothing of the tree is written but --out: the model levee serves is a copy in a temporary
# directory, and training writes its docs and fixtures there too. Exit status: 0 the second
# run is at least as good as the first on both reduction and p50; 1 it is not, or a step
# failed (the figures are printed either way when both runs finished).
#
# Environment: bench/lib.sh's (ports, SERVER_CPU for levee, CLIENT_CPU for levee-bench and the
# capture, UPSTREAM_CPU, UPSTREAM_LATENCY, NICE), and the step bounds BENCH_TIMEOUT (600 s per
# levee-bench run), TRAIN_TIMEOUT (1200 s), RELOAD_TIMEOUT (30 s), DRAIN_TIMEOUT (30 s), and
# PRICES (the candidates' price of an upstream call, seconds; default "1.3 1.4 1.5 1.2 1.0":
# fine-tuned on replay-heavy traffic, the served model keeps its reduction at about 1.3-1.5).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LEVEE_BENCH_BIN=${LEVEE_BENCH_BIN:-$BENCH_ROOT/build/bin/levee-bench}
CAPTURE_BIN=${CAPTURE_BIN:-$BENCH_ROOT/build/bin/levee-kafka-capture}
PYTHON=/usr/bin/python3
BENCH_TIMEOUT=${BENCH_TIMEOUT:-600}
TRAIN_TIMEOUT=${TRAIN_TIMEOUT:-1200}
RELOAD_TIMEOUT=${RELOAD_TIMEOUT:-30}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-30}
PRICES=${PRICES:-1.3 1.4 1.5 1.2 1.0}

scenario=$BENCH_ROOT/bench/scenarios/k6_sparse_then_burst.toml
sink=jsonl
iterations=""
rounds=3
seed=7
out=""
train_args=""
no_gate=""
keep_dir=""
while (($#)); do
  case $1 in
    --scenario) scenario=$2; shift 2 ;;
    --sink) sink=$2; shift 2 ;;
    --iterations) iterations=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --no-gate) no_gate=1; shift ;;
    --out) out=$2; shift 2 ;;
    --train-args) train_args=$2; shift 2 ;;
    --keep) keep_dir=1; shift ;;
    *) bench_die "unknown argument $1 (see the header of $0)" ;;
  esac
done
[[ $sink == jsonl || $sink == kafka ]] || bench_die "--sink wants jsonl or kafka"
[[ -n $iterations ]] || iterations=$([[ -n $no_gate ]] && echo 50 || echo 30)
[[ $iterations =~ ^[1-9][0-9]*$ ]] || bench_die "--iterations wants a positive integer"
[[ $seed =~ ^[0-9]+$ ]] || bench_die "--seed wants a non-negative integer"
[[ -r $scenario ]] || bench_die "scenario $scenario not readable"
[[ -x $LEVEE_BIN && -x $LEVEE_BENCH_BIN && -x $UPSTREAM_BIN ]] ||
  bench_die "build first: cmake --build --preset release"
[[ $sink == jsonl || -x $CAPTURE_BIN ]] || bench_die "$CAPTURE_BIN not built"
[[ -r $BENCH_ROOT/models/flush_policy.onnx ]] || bench_die "no models/flush_policy.onnx"
scenario=$(realpath "$scenario")

bench_results_file "$out" learn_loop
out=$BENCH_OUT

if [[ -n $keep_dir ]]; then BENCH_KEEP_DIR=1; fi
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_setup_dir
bench_check_ports "$UPSTREAM_PORT" "$LEVEE_PORT" "$LEVEE_ADMIN_PORT"
if [[ -n $keep_dir ]]; then bench_log "keeping $BENCH_DIR"; fi

# --- levee's model: a copy the loop may replace --------------------------------------------
mkdir -p "$BENCH_DIR/model" "$BENCH_DIR/train/docs" "$BENCH_DIR/train/fixtures"
model=$BENCH_DIR/model/flush_policy.onnx
cp "$BENCH_ROOT/models/flush_policy.onnx" "$model"

# One series of levee's /metrics (exact name and labels), 0 when absent.
metric() {
  curl -s --max-time 5 "http://127.0.0.1:$LEVEE_ADMIN_PORT/metrics" |
    awk -v series="$1" '$1 == series { v = $2 } END { printf "%d\n", (v == "" ? 0 : v) }'
}
loaded_series='levee_policy_model_loads_total{route="api",result="loaded"}'
failed_series='levee_policy_model_loads_total{route="api",result="failed"}'
telemetry_series() { echo "levee_telemetry_events_total{result=\"$1\"}"; }

# --- the telemetry sink ----------------------------------------------------------------------
telemetry=$BENCH_DIR/flush-events.jsonl
: >"$telemetry"
if [[ $sink == kafka ]]; then
  capture_log=$BENCH_DIR/capture.out
  # It outlives both runs and the training; its own bound is a backstop for a stuck script.
  "${PRIO[@]}" taskset -c "$CLIENT_CPU" "$CAPTURE_BIN" --out "$telemetry" --topic levee-flush-events \
    --max-seconds $((2 * BENCH_TIMEOUT + TRAIN_TIMEOUT + 600)) >"$capture_log" 2>"$BENCH_DIR/capture.stderr" &
  CAPTURE_PID=$!
  BENCH_PIDS+=("$CAPTURE_PID")
  bench_wait_line "$capture_log" 'levee-kafka-capture ready' 15 ||
    { cat "$capture_log" "$BENCH_DIR/capture.stderr" >&2; bench_die "levee-kafka-capture did not start"; }
  bootstrap=$(sed -n 's/.* bootstrap=\([^ ]*\).*/\1/p' "$capture_log")
  bench_log "levee-kafka-capture: $(head -n 1 "$capture_log")"
  export LEVEE_TELEMETRY__SINK=kafka LEVEE_TELEMETRY__BROKERS=$bootstrap
  export LEVEE_TELEMETRY__TOPIC=levee-flush-events
else
  export LEVEE_TELEMETRY__SINK=jsonl LEVEE_TELEMETRY__PATH=$telemetry
  export LEVEE_TELEMETRY__MAX_FILE_BYTES=0  # one file: the snapshot below reads only it
fi

# --- levee-upstream and levee ----------------------------------------------------------------
start_upstream
write_levee_conf
export LEVEE_ROUTES__api__MODE=collapse
# Seed 000's envelope, as bench/collapse_policies.sh's window-learned-50ms.
export LEVEE_ROUTES__api__COLLAPSE='{strategy = "window", policy = "learned", model = "'"$model"'", max_wait = "50ms", max_waiters = 127}'
start_levee
unset LEVEE_ROUTES__api__MODE LEVEE_ROUTES__api__COLLAPSE
unset LEVEE_TELEMETRY__SINK LEVEE_TELEMETRY__PATH LEVEE_TELEMETRY__MAX_FILE_BYTES
unset LEVEE_TELEMETRY__BROKERS LEVEE_TELEMETRY__TOPIC
(($(metric "$loaded_series") >= 1)) ||
  { cat "$BENCH_DIR/levee.stderr" >&2; bench_die "levee did not load $model"; }
bench_log "levee on 127.0.0.1:$LEVEE_PORT (learned, $model; telemetry: $sink), levee-upstream on" \
  "127.0.0.1:$UPSTREAM_PORT (latency ${UPSTREAM_LATENCY:-0ms}); $scenario"

# run LABEL: one levee-bench run of the scenario; its JSON line goes to $BENCH_DIR/LABEL.json
# and is appended to --out.
run() {
  local label=$1 rc=0
  "${PRIO[@]}" timeout --kill-after=10 "$BENCH_TIMEOUT" taskset -c "$CLIENT_CPU" "$LEVEE_BENCH_BIN" \
    --scenario "$scenario" --target "http://127.0.0.1:$LEVEE_PORT" \
    --upstream-stats "http://127.0.0.1:$UPSTREAM_PORT/__stats" --label "$label" \
    --json-out "$BENCH_DIR/$label.json" --progress off --quiet >/dev/null || rc=$?
  [[ -s $BENCH_DIR/$label.json ]] || bench_die "levee-bench run $label gave no result (exit $rc)"
  cat "$BENCH_DIR/$label.json" >>"$out"
  bench_log "$label: $(summary "$BENCH_DIR/$label.json") (levee-bench exit $rc)"
}

summary() {
  "$PYTHON" -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline())
print("reduction %.4f, p50 %.3f ms, p99 %.3f ms, errors %d" % (r["upstream_reduction"], r["p50_ms"], r["p99_ms"], r["errors"]))' "$1"
}

# Until levee's telemetry queue is drained (recorded = written + dropped + sink_error) and, for
# Kafka, the capture has every written event in its file; bounded by DRAIN_TIMEOUT.
wait_telemetry() {
  local _ recorded written dropped errors lines
  for _ in $(seq $((DRAIN_TIMEOUT * 10))); do
    recorded=$(metric "$(telemetry_series recorded)")
    written=$(metric "$(telemetry_series written)")
    dropped=$(metric "$(telemetry_series dropped)")
    errors=$(metric "$(telemetry_series sink_error)")
    lines=$(wc -l <"$telemetry")
    if ((recorded == written + dropped + errors && lines >= written)); then
      bench_log "telemetry: $recorded events recorded, $written written, $dropped dropped," \
        "$errors sink errors; $lines lines in the file"
      return 0
    fi
    sleep 0.1
  done
  bench_log "warning: telemetry not drained after ${DRAIN_TIMEOUT}s: recorded $recorded," \
    "written $written, dropped $dropped, sink errors $errors, $lines lines in the file"
}

# --- 1, 2: the first run ---------------------------------------------------------------------
for round in $(seq "$rounds"); do run "learn-loop-before-$round"; done
wait_telemetry

# --- 3: training on what levee recorded ------------------------------------------------------
snapshot=$BENCH_DIR/telemetry-before.jsonl
lines=$(wc -l <"$telemetry")
head -n "$lines" "$telemetry" >"$snapshot"
PYTHONPATH=$BENCH_ROOT/rl "$PYTHON" - "$snapshot" <<'EOF' >&2 || bench_die "the telemetry cannot be replayed"
import sys, warnings
from levee_rl.trace import arrival_traces, read_events
events = read_events(sys.argv[1])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    traces = arrival_traces(events)
spans = ", ".join(f"{route}: {t.size} arrivals over {t[-1]:.1f} s" for route, t in traces.items())
print(f"telemetry snapshot: {len(events)} events; replayable traces: {spans or 'none'}; "
      f"{traces.without_arrivals} events without arrivals_ns, {traces.truncated_groups} truncated")
EOF
# Candidates: the served model fine-tuned on the recorded traffic (replay-heavy), one per
# price of an upstream call in PRICES; the first the gate finds at least as good as the served
# model on both reduction and p50 (levee_rl.gate: the recorded traffic replayed in the
# simulator) replaces it. --no-gate: one network trained from scratch on the synthetic mix
# plus the telemetry, promoted unconditionally.
served_copy=$BENCH_DIR/served.onnx
cp "$model" "$served_copy"
trained=""
if [[ -n $no_gate ]]; then
  prices=(0.8)
else
  read -r -a prices <<<"$PRICES"
fi
for price in "${prices[@]}"; do
  candidate=$BENCH_DIR/train/candidate-$price.onnx
  if [[ -n $no_gate ]]; then
    how=(--iterations "$iterations")
    bench_log "training: $iterations iteration(s) from scratch, seed $seed, on $snapshot"
  else
    how=(--iterations "$iterations" --init "$served_copy" --lr 3e-4 --replay-episodes 9 --price "$price")
    bench_log "training: fine-tuning the served model, $iterations iteration(s), price $price s, seed $seed, on $snapshot"
  fi
  started=$SECONDS
  # shellcheck disable=SC2086  # --train-args is word-split on purpose
  (cd "$BENCH_ROOT" && PYTHONPATH=rl timeout --kill-after=10 "$TRAIN_TIMEOUT" "$PYTHON" -m levee_rl.train \
    --seed "$seed" --telemetry "$snapshot" --model "$candidate" --no-evaluation "${how[@]}" \
    $train_args) >>"$BENCH_DIR/train.log" 2>&1 ||
    { tail -n 30 "$BENCH_DIR/train.log" >&2; bench_die "training failed"; }
  [[ -s $candidate ]] || bench_die "training wrote no $candidate"
  bench_log "training done in $((SECONDS - started)) s (log: $BENCH_DIR/train.log)"
  if [[ -n $no_gate ]]; then
    trained=$candidate
    break
  fi
  verdict=0
  (cd "$BENCH_ROOT" && PYTHONPATH=rl "$PYTHON" -m levee_rl.gate --telemetry "$snapshot" \
    --served "$served_copy" --candidate "$candidate") >&2 || verdict=$?
  ((verdict == 2)) && bench_die "the gate could not compare the models"
  if ((verdict == 0)); then
    trained=$candidate
    break
  fi
done
if [[ -z $trained ]]; then
  bench_log "no candidate was at least as good as the served model on the recorded traffic: it stays"
  exit 1
fi

# --- 4, 5: the new model renamed over the one levee serves, and its reload -------------------
loaded_before=$(metric "$loaded_series")
failed_before=$(metric "$failed_series")
cp "$trained" "$model.new"
mv -f "$model.new" "$model"  # rename(2) in one directory: levee never sees half a file
reloaded=""
for _ in $(seq $((RELOAD_TIMEOUT * 10))); do
  if (($(metric "$loaded_series") > loaded_before)); then reloaded=1; break; fi
  if (($(metric "$failed_series") > failed_before)); then
    cat "$BENCH_DIR/levee.stderr" >&2
    bench_die "levee refused the new model (levee_policy_model_loads_total{result=\"failed\"})"
  fi
  sleep 0.1
done
[[ -n $reloaded ]] || bench_die "levee did not reload $model within ${RELOAD_TIMEOUT}s"
kill -0 "$LEVEE_PID" 2>/dev/null || bench_die "levee exited"
bench_log "levee reloaded the model (loads: $loaded_before -> $(metric "$loaded_series")), same process $LEVEE_PID"

# --- 6: the same workload again --------------------------------------------------------------
for round in $(seq "$rounds"); do run "learn-loop-after-$round"; done
wait_telemetry

# --- both runs side by side ------------------------------------------------------------------
verdict=0
"$PYTHON" - "$BENCH_DIR" "$rounds" <<'EOF' || verdict=$?
import json, statistics, sys
directory, rounds = sys.argv[1], int(sys.argv[2])
runs = {side: [json.loads(open(f"{directory}/learn-loop-{side}-{k}.json").readline())
               for k in range(1, rounds + 1)] for side in ("before", "after")}
median = lambda side, key: statistics.median(r[key] for r in runs[side])
print(f"scenario: {runs['before'][0]['scenario']}; {rounds} round(s) each side, medians")
print(f"{'':18}{'before':>12}{'after':>12}{'change':>12}   rounds before | after")
for key, name, fmt in (("upstream_reduction", "reduction", "{:.4f}"), ("p50_ms", "p50 ms", "{:.3f}"),
                       ("p99_ms", "p99 ms", "{:.3f}"), ("upstream_calls", "upstream calls", "{:.0f}")):
    b, a = median("before", key), median("after", key)
    each = lambda side: " ".join(fmt.format(r[key]) for r in runs[side])
    print(f"{name:18}{fmt.format(b):>12}{fmt.format(a):>12}{fmt.format(a - b):>12}   "
          f"{each('before')} | {each('after')}")
errors = {side: sum(r["errors"] + r["mismatches"] for r in runs[side]) for side in runs}
print(f"{'errors+mismatches':18}{errors['before']:>12}{errors['after']:>12}")
worse = []
if median("after", "upstream_reduction") < median("before", "upstream_reduction"):
    worse.append("reduction")
if median("after", "p50_ms") > median("before", "p50_ms"):
    worse.append("p50")
if errors["after"]:
    worse.append("errors")
print("second run: " + ("worse on " + " and ".join(worse) if worse else "at least as good on reduction and p50"))
sys.exit(1 if worse else 0)
EOF
echo "results: $out"
exit "$verdict"
