#!/usr/bin/env bash
# Issue 5's batch benchmark: levee (1 worker, bench/configs/batch_50k.toml: batches of 100,
# max_wait 10 ms, X-Levee-Batch debug header) in front of levee-upstream whose /process_batch
# takes 50 ms. levee-bench sends bench/scenarios/batch_50k_bursts.toml (5,000 items/s with
# bursts at 50,000/s), then constant runs, and reports for each run its errors, mismatches,
# latency and levee's overhead (latency - waited_us - upstream_us of X-Levee-Batch). Around
# each run the script reads levee's CPU time (/proc/PID/stat) and peak RSS (VmHWM), and
# levee-upstream's /__stats (/process_batch calls and /process_batch_items). Run by hand,
# never in CI; results in docs/benchmarks.md "Issue 5: batch".
#
#   bench/batch_overhead.sh [--rounds N] [--out FILE.jsonl] [--constant-rates "50000 40000"]
#                           [--constant-duration 10s] [--control] [--old-levee PATH]
#                           [--nginx-floor]
#
# levee's own figure (issue 19): at the end of each levee run the script reads levee's
# /metrics and adds levee_added_ms (p50, p90, p99, count of levee_added_latency_seconds, the
# latency levee adds: total - upstream - parked) and levee_phase_ms (p50 and p99 of each
# phase of levee_request_phase_seconds), interpolated in the histograms' buckets as PromQL's
# histogram_quantile does, and levee_loop_lag_ms (p50, p99 and count of
# levee_event_loop_lag_seconds: how late levee's worker ran a timer that was due, sampled every
# 100 ms, which shows a saturated worker). A binary without these metrics gets null.
# --old-levee PATH: after each levee run, the same run with another levee binary (server
# "levee-old"), for a side-by-side comparison in one invocation.
#
# Each run starts a fresh levee (so VmHWM is that run's peak); the upstream starts once.
# --control: after each levee run, the same scenario straight at a second levee-upstream on
# levee's core that answers each item itself after the same 50 ms (no levee, port
# CONTROL_PORT): what levee-bench and this machine reach on this load without levee. It holds
# each answer on to the next multiple of an interval (levee-upstream --release-every), so the
# answers go out in groups one after another, as levee writes a batch's, and says how long it
# held each in levee's X-Levee-Batch header: the control's overhead is this machine's and
# levee-bench's cost of a batch's fan-out with no proxy work. The interval is the time levee
# takes to fill a batch: max_wait (10 ms), or 100 items / rate in constant runs above
# 10,000/s; CONTROL_RELEASE_EVERY fixes it.
#
# --nginx-floor: after each levee run, the same load against nginx (1 worker on levee's core,
# server "nginx") whose location answers every item itself with a fixed 200 JSON body, no
# proxying and no batching: what a mature event-driven HTTP/1.1 server costs per item on
# this machine, the floor under any CPU figure of levee's. Its scenario is the same with a
# status check instead of the id check and no debug header (nginx's body is fixed), on the
# path /api/process.
#
# levee-bench's JSON line is appended to --out with these fields added: server ("levee", or
# "control" for the control runs), server_cpu_s (user + system seconds of that server
# during the run, /proc/PID/stat), server_cpu_s_per_100k (per 100,000 items sent),
# server_vmhwm_kib (its peak RSS), bench_cpu_s and upstream_cpu_s (the same for levee-bench and
# the batch upstream), upstream_batch_calls, upstream_batch_items and items_per_batch_call
# (levee runs: the batch upstream's /__stats /process_batch and /process_batch_items),
# steal_pct (CPU time the hypervisor gave to other guests, in % of the machine's, during the
# run: noise), cpu0_busy_pct and cpu1_busy_pct (how busy each core was, from /proc/stat:
# which side saturated), cpus (the placement). A table of every run and the medians per
# scenario and server ends the output.
#
# Placement (2 cores): levee alone on core 0 (SERVER_CPU); levee-bench and levee-upstream on
# core 1 (CLIENT_CPU, UPSTREAM_CPU), as in bench/lib.sh. The upstream answers 500 batch calls
# a second at 50,000 items/s (under 1 % of a core), little next to levee-bench's cost.
#
# Environment: BIN_DIR (default build/bin: levee, levee-upstream, levee-bench), the ports,
# CPUs and NICE of bench/lib.sh, CONTROL_PORT (19706), CONTROL_RELEASE_EVERY (see above),
# UPSTREAM_BATCH_LATENCY (50ms), RUN_TIMEOUT (300 s per levee-bench run), SCENARIO
# (bench/scenarios/batch_50k_bursts.toml), LEVEE_CONFIG (bench/configs/batch_50k.toml),
# EXTRA_BENCH_ARGS (added to every levee-bench command line), BENCH_KEEP_DIR=1 (keep the logs
# in the temporary directory). levee's own LEVEE_* environment overrides reach levee, e.g.
#   LEVEE_ROUTES__items__BATCH='{upstream_path = "/process_batch", max_batch_size = 10}'
set -euo pipefail

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN_DIR=${BIN_DIR:-$BENCH_ROOT/build/bin}
LEVEE_BIN=${LEVEE_BIN:-$BIN_DIR/levee}
UPSTREAM_BIN=${UPSTREAM_BIN:-$BIN_DIR/levee-upstream}
LEVEE_BENCH_BIN=${LEVEE_BENCH_BIN:-$BIN_DIR/levee-bench}
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

UPSTREAM_BATCH_LATENCY=${UPSTREAM_BATCH_LATENCY:-50ms}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}
SCENARIO=${SCENARIO:-$BENCH_ROOT/bench/scenarios/batch_50k_bursts.toml}
LEVEE_CONFIG=${LEVEE_CONFIG:-$BENCH_ROOT/bench/configs/batch_50k.toml}
CONTROL_PORT=${CONTROL_PORT:-19706}
CONTROL_RELEASE_EVERY=${CONTROL_RELEASE_EVERY:-}
PYTHON=/usr/bin/python3

rounds=3
control=0
nginx_floor=0
out=""
constant_rates="50000"
constant_duration="10s"
while (($#)); do
  case $1 in
    --rounds) (($# >= 2)) || bench_die "--rounds wants a value"; rounds=$2; shift 2 ;;
    --out) (($# >= 2)) || bench_die "--out wants a file"; out=$2; shift 2 ;;
    --control) control=1; shift ;;
    --nginx-floor) nginx_floor=1; shift ;;
    --old-levee) (($# >= 2)) || bench_die "--old-levee wants a binary"; OLD_LEVEE_BIN=$2; shift 2 ;;
    --constant-rates) (($# >= 2)) || bench_die "--constant-rates wants a list"; constant_rates=$2; shift 2 ;;
    --constant-duration) (($# >= 2)) || bench_die "--constant-duration wants a duration"; constant_duration=$2; shift 2 ;;
    -h | --help) sed -n '2,40p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
    *) bench_die "unknown argument $1" ;;
  esac
done
[[ $rounds =~ ^[0-9]+$ ]] || bench_die "--rounds wants a non-negative integer"
read -r -a rates <<<"$constant_rates"
for r in "${rates[@]}"; do [[ $r =~ ^[1-9][0-9]*$ ]] || bench_die "bad rate '$r'"; done
[[ $constant_duration =~ ^[0-9]+(ms|s)$ ]] || bench_die "--constant-duration wants e.g. 10s"
read -r -a extra_args <<<"${EXTRA_BENCH_ARGS:-}"
for tool in taskset curl ss timeout getconf "$PYTHON"; do
  command -v "$tool" >/dev/null || bench_die "$tool not found"
done
[[ -x $LEVEE_BIN && -x $UPSTREAM_BIN && -x $LEVEE_BENCH_BIN ]] ||
  bench_die "build first (BIN_DIR=$BIN_DIR): cmake --build --preset release"
[[ -r $SCENARIO && -r $LEVEE_CONFIG ]] || bench_die "$SCENARIO or $LEVEE_CONFIG not readable"

bench_results_file "$out" batch_overhead
out=$BENCH_OUT
lines_before=$BENCH_LINES_BEFORE

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_setup_dir
bench_check_ports "$UPSTREAM_PORT" "$LEVEE_PORT" "$LEVEE_ADMIN_PORT" "$CONTROL_PORT"
if ((nginx_floor)); then
  [[ -x $NGINX_BIN ]] || bench_die "nginx not found at $NGINX_BIN"
  bench_check_ports "$NGINX_PORT"
  write_nginx_conf '            default_type application/json;
            return 200 '"'"'{"id":0}'"'"';'
fi

# The config's addresses follow the ports chosen here (levee's environment overrides).
export LEVEE_SERVER__LISTEN="127.0.0.1:$LEVEE_PORT"
export LEVEE_SERVER__ADMIN_LISTEN="127.0.0.1:$LEVEE_ADMIN_PORT"
export LEVEE_UPSTREAMS__MOCK__ADDRESS="127.0.0.1:$UPSTREAM_PORT"
LEVEE_CONF=$LEVEE_CONFIG
"$LEVEE_BIN" check --config "$LEVEE_CONF" >/dev/null || bench_die "$LEVEE_CONF does not validate"

CLK_TCK=$(getconf CLK_TCK)
# user + system CPU seconds of a process (every thread), from /proc/PID/stat fields 14 and 15.
cpu_seconds() {
  local fields
  fields=$(sed 's/^.*) //' "/proc/$1/stat") || return 1
  awk -v tck="$CLK_TCK" '{printf "%.2f", ($12 + $13) / tck}' <<<"$fields"
}
vm_hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
# CPU ticks from /proc/stat, "total steal busy0 total0 busy1 total1": the machine's total
# and steal (time the hypervisor gave to other guests), then each core's busy (not idle or
# iowait) and total ticks.
cpu_ticks() {
  awk '/^cpu[0-9]* / {t = 0; for (i = 2; i <= NF; ++i) t += $i
         if ($1 == "cpu") printf "%d %d", t, $9
         else if ($1 == "cpu0" || $1 == "cpu1") printf " %d %d", t - $5 - $6, t}
       END {print ""}' /proc/stat
}
upstream_stats() { curl -s --max-time 5 "http://127.0.0.1:$UPSTREAM_PORT/__stats"; }
levee_metrics() { curl -s --max-time 5 "http://127.0.0.1:$LEVEE_ADMIN_PORT/metrics"; }

# A constant-rate scenario derived from the bursts one (same request, limits and header).
constant_scenario() {  # $1 rate -> path
  local file=$BENCH_DIR/batch_constant_$1.toml
  cat >"$file" <<EOF
name = "batch-constant-$1"
description = "POST items at a constant $1/s for $constant_duration"
verify = "id"
overhead_header = "X-Levee-Batch"
[[phase]]
kind = "constant"
rate = $1
duration = "$constant_duration"
[request]
method = "POST"
path = "/process"
body = "{\"id\":{seq}}"
[limits]
max_duration = "1m"
max_connections = 4096
timeout = "5s"
EOF
  echo "$file"
}

# Starts the control server: a second levee-upstream on the proxy's core that answers each
# item itself after the same latency (no levee on the path): what this machine and levee-bench
# reach without levee.
start_control() {  # $1 the release interval
  local log=$BENCH_DIR/control.log
  "${PRIO[@]}" taskset -c "$SERVER_CPU" "$UPSTREAM_BIN" --listen "127.0.0.1:$CONTROL_PORT" \
    --latency "$UPSTREAM_BATCH_LATENCY" --release-every "$1" --workers 1 \
    >"$log" 2>&1 &
  CONTROL_PID=$!
  BENCH_PIDS+=("$CONTROL_PID")
  bench_wait_line "$log" 'levee-upstream ready' 10 || { cat "$log" >&2; bench_die "control levee-upstream did not start"; }
}

run_one() {  # $1 label, $2 scenario file, $3 levee | control, $4 the control's release interval
  local label=$1 scenario=$2 server=$3 rc=0 line_file=$BENCH_DIR/line.jsonl log
  local time_file=$BENCH_DIR/bench_time server_pid port stats_port
  local cpu_before cpu_after up_before up_after ticks_before ticks_after hwm
  local stats_before stats_after metrics_file=$BENCH_DIR/metrics.txt
  log=$BENCH_DIR/run-$label-$(date -u +%H%M%S).txt
  : >"$metrics_file"
  if [[ $server == levee* ]]; then
    start_levee
    server_pid=$LEVEE_PID port=$LEVEE_PORT stats_port=$UPSTREAM_PORT
  elif [[ $server == nginx ]]; then
    start_nginx
    # The worker does the work; the master only waits.
    server_pid=$(pgrep -P "$NGINX_PID" | head -n 1)
    [[ -n $server_pid ]] || bench_die "nginx has no worker process"
    port=$NGINX_PORT stats_port=$UPSTREAM_PORT
  else
    start_control "${CONTROL_RELEASE_EVERY:-$4}"
    server_pid=$CONTROL_PID port=$CONTROL_PORT stats_port=$CONTROL_PORT
  fi
  cpu_before=$(cpu_seconds "$server_pid")
  up_before=$(cpu_seconds "$UPSTREAM_PID")
  ticks_before=$(cpu_ticks)
  stats_before=$(upstream_stats)
  : >"$line_file"
  echo "0 0" >"$time_file"
  # In the background and waited for, so that SIGTERM interrupts the wait and bench_cleanup
  # stops the generator too.
  "${PRIO[@]}" timeout --kill-after=10 "$RUN_TIMEOUT" taskset -c "$CLIENT_CPU" \
    /usr/bin/time -f '%U %S' -o "$time_file" "$LEVEE_BENCH_BIN" \
    --scenario "$scenario" --target "http://127.0.0.1:$port" \
    --upstream-stats "http://127.0.0.1:$stats_port/__stats" --label "$label" \
    --json-out "$line_file" --progress off "${extra_args[@]}" >"$log" 2>&1 &
  local bench_pid=$!
  BENCH_PIDS+=("$bench_pid")
  wait "$bench_pid" || rc=$?
  bench_forget_pid "$bench_pid"
  cpu_after=$(cpu_seconds "$server_pid")
  up_after=$(cpu_seconds "$UPSTREAM_PID")
  ticks_after=$(cpu_ticks)
  hwm=$(vm_hwm_kib "$server_pid")
  stats_after=$(upstream_stats)
  if [[ $server == levee* ]]; then levee_metrics >"$metrics_file" || true; fi
  if [[ $server == nginx ]]; then bench_stop_pid "$NGINX_PID"; else bench_stop_pid "$server_pid"; fi
  if [[ ! -s $line_file ]]; then
    tail -n 20 "$log" >&2
    bench_log "$label: no result line (levee-bench exit $rc)"
    return 0
  fi
  ((rc == 0)) || bench_log "warning: levee-bench exited $rc (1: mismatches; 124: timeout)"
  "$PYTHON" - "$line_file" "$server" "$cpu_before" "$cpu_after" "$hwm" "$stats_before" \
    "$stats_after" "$ticks_before" "$ticks_after" "$(tail -n 1 "$time_file")" "$up_before" \
    "$up_after" "$server $SERVER_CPU, levee-bench $CLIENT_CPU, upstream $UPSTREAM_CPU" \
    "$metrics_file" "${levee_bin_for_run:-$LEVEE_BIN}" >>"$out" <<'PY'
import json, re, sys
(line_file, server, cpu_before, cpu_after, hwm, before, after, t0, t1, bench_time, up_before,
 up_after, cpus, metrics_file, levee_bin) = sys.argv[1:16]
run = json.loads(open(line_file).read().splitlines()[-1])
run["server"] = server
cpu = float(cpu_after) - float(cpu_before)
run["server_cpu_s"] = round(cpu, 2)
run["server_cpu_s_per_100k"] = round(cpu / run["requests"] * 1e5, 3) if run["requests"] else None
run["server_vmhwm_kib"] = int(hwm)
run["bench_cpu_s"] = round(sum(float(x) for x in bench_time.split()[:2]), 2)
run["upstream_cpu_s"] = round(float(up_after) - float(up_before), 2)
if server.startswith("levee"):
    before, after = json.loads(before), json.loads(after)
    def delta(key):
        return after["endpoints"].get(key, 0) - before["endpoints"].get(key, 0)
    run["upstream_batch_calls"] = delta("/process_batch")
    run["upstream_batch_items"] = delta("/process_batch_items")
    calls = run["upstream_batch_calls"]
    run["items_per_batch_call"] = round(run["upstream_batch_items"] / calls, 2) if calls else None
a, b = [int(x) for x in t0.split()], [int(x) for x in t1.split()]
def share(busy, total):
    d = b[total] - a[total]
    return round(100.0 * (b[busy] - a[busy]) / d, 1) if d > 0 else None
run["steal_pct"] = share(1, 0)
if len(a) == len(b) == 6:
    run["cpu0_busy_pct"], run["cpu1_busy_pct"] = share(2, 3), share(4, 5)
run["cpus"] = cpus
if server.startswith("levee"):
    run["levee_bin"] = levee_bin
    # Histograms of levee's own /metrics: {(name, labels without le): [(le, cumulative)]}.
    buckets = {}
    sample = re.compile(r'^(\w+)_bucket\{(.*)\} (\S+)$')
    for text in open(metrics_file).read().splitlines():
        m = sample.match(text)
        if not m: continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        le = labels.pop("le")
        key = (m.group(1), tuple(sorted(labels.items())))
        buckets.setdefault(key, []).append((float("inf") if le == "+Inf" else float(le),
                                            float(m.group(3))))
    def quantile(series, q):  # PromQL's histogram_quantile, in ms
        series = sorted(series)
        total = series[-1][1]
        if total == 0: return None
        rank, prev_le, prev_count = q * total, 0.0, 0.0
        for le, count in series:
            if count >= rank:
                if le == float("inf"): return round(prev_le * 1000, 3)
                width = count - prev_count
                frac = (rank - prev_count) / width if width else 1.0
                return round((prev_le + (le - prev_le) * frac) * 1000, 3)
            prev_le, prev_count = le, count
        return None
    added = [v for (name, _), v in buckets.items() if name == "levee_added_latency_seconds"]
    run["levee_added_ms"] = None
    if added:
        series = added[0]
        run["levee_added_ms"] = {"p50": quantile(series, 0.5), "p90": quantile(series, 0.9),
                                 "p99": quantile(series, 0.99), "count": int(max(c for _, c in series))}
    lag = [v for (name, _), v in buckets.items() if name == "levee_event_loop_lag_seconds"]
    run["levee_loop_lag_ms"] = None
    if lag:
        series = lag[0]
        run["levee_loop_lag_ms"] = {"p50": quantile(series, 0.5), "p99": quantile(series, 0.99),
                                    "count": int(max(c for _, c in series))}
    phases = {dict(labels)["phase"]: v for (name, labels), v in buckets.items()
              if name == "levee_request_phase_seconds"}
    run["levee_phase_ms"] = {p: {"p50": quantile(v, 0.5), "p99": quantile(v, 0.99)}
                             for p, v in phases.items()} or None
print(json.dumps(run, separators=(",", ":")))
PY
  bench_log "$label: $(tail -n 1 "$out" | "$PYTHON" -c '
import json, sys
r = json.loads(sys.stdin.read())
o = r.get("overhead_ms") or {}
kinds = ", ".join("%s %d" % kv for kv in r["errors_by_kind"].items() if kv[1])
print("sent %d, answered %d, errors %d%s, mismatches %d, batch calls %s (items/100 = %.0f), "
      "p99 %.2f ms, overhead p99 %s ms, levee added p99 %s ms, lag p99 %.2f ms, "
      "%s %.2f cpu-s/100k, VmHWM %d KiB" % (
      r["requests"], r["completed"], r["errors"], " (%s)" % kinds if kinds else "",
      r["mismatches"], r.get("upstream_batch_calls", "-"), r["requests"] / 100, r["p99_ms"],
      o.get("p99", "-"), (r.get("levee_added_ms") or {}).get("p99", "-"),
      r["dispatch_lag_p99_ms"], r["server"], r["server_cpu_s_per_100k"] or 0,
      r["server_vmhwm_kib"]))')"
}

# The scenario $1 for nginx's floor run: no id check, no debug header, the /api/ path.
nginx_scenario() {  # $1 scenario file -> path
  local file
  file=$BENCH_DIR/nginx_$(basename "$1")
  sed -e 's/^verify *=.*/verify = "status"/' -e '/^overhead_header *=/d' \
    -e 's|^path = "/process"|path = "/api/process"|' "$1" >"$file"
  grep -q '^path = "/api/process"' "$file" && grep -q '^verify = "status"' "$file" ||
    bench_die "$1: wants a 'verify =' line and a 'path = \"/process\"' line"
  echo "$file"
}
run_nginx() {  # $1 label, $2 scenario file
  ((nginx_floor)) || return 0
  run_one "nginx-$1" "$(nginx_scenario "$2")" nginx
}

# The time levee takes to fill a batch at $1 items/s, in microseconds: 100 items, at most
# max_wait (10 ms).
fill_time_us() {
  local us=$((100 * 1000000 / $1))
  echo $((us < 10000 ? us : 10000))
}

start_upstream
bench_log "levee-upstream on 127.0.0.1:$UPSTREAM_PORT (cpu $UPSTREAM_CPU, batch latency" \
  "$UPSTREAM_BATCH_LATENCY); levee on cpu $SERVER_CPU, levee-bench on cpu $CLIENT_CPU;" \
  "load average $(load_average); results appended to $out"
# The same run with the old binary (--old-levee), right after the new one.
run_old() {  # $1 label, $2 scenario file
  [[ -n ${OLD_LEVEE_BIN:-} ]] || return 0
  local new_bin=$LEVEE_BIN
  LEVEE_BIN=$OLD_LEVEE_BIN levee_bin_for_run=$OLD_LEVEE_BIN
  run_one "old-$1" "$2" levee-old
  LEVEE_BIN=$new_bin levee_bin_for_run=""
}
if [[ -n ${OLD_LEVEE_BIN:-} ]]; then
  [[ -x $OLD_LEVEE_BIN ]] || bench_die "--old-levee $OLD_LEVEE_BIN is not executable"
fi

for round in $(seq "$rounds"); do
  run_one "bursts-$round" "$SCENARIO" levee
  run_old "bursts-$round" "$SCENARIO"
  run_nginx "bursts-$round" "$SCENARIO"
  if ((control)); then run_one "control-bursts-$round" "$SCENARIO" control 10ms; fi
done
for rate in "${rates[@]}"; do
  scenario=$(constant_scenario "$rate")
  run_one "constant-$rate" "$scenario" levee
  run_old "constant-$rate" "$scenario"
  run_nginx "constant-$rate" "$scenario"
  if ((control)); then run_one "control-constant-$rate" "$scenario" control "$(fill_time_us "$rate")us"; fi
done

tail -n +"$((lines_before + 1))" "$out" | "$PYTHON" -c '
import json, statistics, sys
runs = [json.loads(l) for l in sys.stdin if l.strip()]
cols = [("sent", lambda r: r["requests"]), ("answered", lambda r: r["completed"]),
        ("errors", lambda r: r["errors"]), ("mism.", lambda r: r["mismatches"]),
        ("batch calls", lambda r: r.get("upstream_batch_calls")),
        ("items/100", lambda r: r["requests"] / 100),
        ("p50 ms", lambda r: r["p50_ms"]), ("p99 ms", lambda r: r["p99_ms"]),
        ("ovh p50", lambda r: (r.get("overhead_ms") or {}).get("p50")),
        ("ovh p99", lambda r: (r.get("overhead_ms") or {}).get("p99")),
        ("ovh max", lambda r: (r.get("overhead_ms") or {}).get("max")),
        ("added p99", lambda r: (r.get("levee_added_ms") or {}).get("p99")),
        ("lag p99", lambda r: r["dispatch_lag_p99_ms"]),
        ("cpu-s/100k", lambda r: r["server_cpu_s_per_100k"]),
        ("bench cpu-s", lambda r: r.get("bench_cpu_s")),
        ("VmHWM MiB", lambda r: round(r["server_vmhwm_kib"] / 1024, 1)),
        ("steal %", lambda r: r.get("steal_pct")),
        ("cpu0 %", lambda r: r.get("cpu0_busy_pct")), ("cpu1 %", lambda r: r.get("cpu1_busy_pct"))]
def fmt(v):
    if v is None: return "-"
    if isinstance(v, int): return "%d" % v
    return "%.0f" % v if abs(v) >= 1000 else "%.3f" % v
print("\t".join(["run"] + [c for c, _ in cols]))
for r in runs:
    print("\t".join([r["label"]] + [fmt(f(r)) for _, f in cols]))
for scenario, server in dict.fromkeys((r["scenario"], r["server"]) for r in runs):
    of = [r for r in runs if r["scenario"] == scenario and r["server"] == server]
    meds = []
    for _, f in cols:
        vals = [f(r) for r in of if f(r) is not None]
        meds.append(fmt(statistics.median(vals)) if vals else "-")
    print("\t".join(["median %s %s (%d)" % (server, scenario, len(of))] + meds))
'
echo "results: $out"
