#!/usr/bin/env bash
# gRPC collapse benchmark of issue 20: a burst of identical unary calls through levee (1 worker,
# a `mode = "collapse"`, `grpc = true` route, h2c to the upstream) to a real gRPC server
# (grpcio, tests/peers/grpc_peer.py) that holds every call UPSTREAM_DELAY_MS (metadata
# x-delay-ms). Run by hand, never in CI. Results: docs/benchmarks.md "Issue 20".
#
#   bench/grpc_collapse_burst.sh                       # 3 rounds of 1,000 calls over 10 channels
#   CALLS=2000 ROUNDS=5 bench/grpc_collapse_burst.sh
#   OUT_DIR=/tmp/grpc-results bench/grpc_collapse_burst.sh   # keep the reports and logs
#
# Two clients send the same burst (CLIENTS):
#   grpcio   tests/peers/grpc_client.py (grpcio, Python): --calls CALLS --concurrency
#            CONCURRENCY --channels CHANNELS; its JSON report has every call's latency and
#            status. Python starts and finishes the calls one after another under its GIL,
#            so its latencies hold its own queueing.
#   h2load   the same call as raw gRPC over h2c (one length-prefixed message, content-type
#            application/grpc, te: trailers, the same metadata) from h2load: -n CALLS
#            -c CHANNELS -m CONCURRENCY/CHANNELS, per-call latency from --log-file. h2load sees
#            HTTP statuses, not grpc-status, so a run counts as OK only if the DATA it received
#            covers an answer message per call (a gRPC error answer has none).
# Each round measures, in rotating order:
#   control       the same burst straight to the gRPC server (no levee): what the client and
#                 the server do on their own. Every call then reaches the Python server, whose
#                 own cost per call (a few hundred µs of CPU) queues the burst: this is not a
#                 floor under levee's figure but shows what levee saves and the client's share.
#   levee         levee's collapse defaults (strategy inflight, max_waiters 100: a full slot of
#                 100 followers opens another, so about CALLS/101 upstream calls at best)
#   levee-w1000   the same route with max_waiters = 1000 (one slot can hold the whole burst)
# and first, with h2load, ALONE_CALLS (20) calls one at a time straight to the server
# (peer-alone: the upstream latency as served, against which the goal is also checked) and
# through levee (levee-alone: levee's own cost per call without a burst).
# Upstream calls are the server's own count (GET /stats on its side port, after POST /reset).
#
# The server, levee's route and the h2load burst come from bench/grpc_burst_lib.sh (shared with
# bench/grpc_burst_profile.sh). The server is bench/grpc_peer_wide.py: grpc_peer.py unchanged but with a thread pool of
# 1,100 instead of 256, so that the control's 1,000 delayed calls are held at once rather
# than in four waves.
#
# Placement (2-core machine): levee and the gRPC server on core 1 (SERVER_CPU, UPSTREAM_CPU;
# behind levee the server sees a handful of calls), the client (grpcio or h2load) alone on
# core 0 (CLIENT_CPU). levee is started fresh for each measurement and warmed with a few calls.
#
# Environment: ROUNDS (3), CALLS (1000), CONCURRENCY (= CALLS), CHANNELS (10; levee allows
# 100 concurrent streams per connection by default), UPSTREAM_DELAY_MS (50), TIMEOUT_MS
# (10000), LEVEE_PORT/LEVEE_ADMIN_PORT (19732/19733), SERVER_CPU/UPSTREAM_CPU/CLIENT_CPU
# (1/1/0), NICE (0; e.g. -10 as root), AUTOGROUP_NICE (unset; as in bench/h2_vs_nginx.sh:
# the script re-runs itself in its own session with this autogroup nice), LEVEE_BIN, PYTHON
# (/usr/bin/python3, the one with grpcio), VARIANTS ("control levee levee-w1000"), CLIENTS
# ("grpcio h2load"), ALONE_CALLS (20), REQUEST, AUTHORIZATION, OUT_DIR.
set -euo pipefail

SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
UPSTREAM_CPU=${UPSTREAM_CPU:-1}
LEVEE_PORT=${LEVEE_PORT:-19732}
LEVEE_ADMIN_PORT=${LEVEE_ADMIN_PORT:-19733}

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_own_session "$@"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/grpc_burst_lib.sh"

ROUNDS=${ROUNDS:-3}
CALLS=${CALLS:-1000}
CONCURRENCY=${CONCURRENCY:-$CALLS}
CHANNELS=${CHANNELS:-10}
VARIANTS=${VARIANTS:-control levee levee-w1000}
CLIENTS=${CLIENTS:-grpcio h2load}
OUT_DIR=${OUT_DIR:-}
CLIENT_SCRIPT=$BENCH_ROOT/tests/peers/grpc_client.py

for tool in taskset curl ss h2load "$PYTHON"; do
  command -v "$tool" >/dev/null || bench_die "$tool not found"
done
"$PYTHON" -c 'import grpc' 2>/dev/null || bench_die "$PYTHON has no grpcio (Debian python3-grpcio)"
[[ -x $LEVEE_BIN ]] || bench_die "build levee first: cmake --build --preset release --target levee"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_setup_dir
[[ -n $OUT_DIR ]] && mkdir -p "$OUT_DIR"
RAW_DIR=${OUT_DIR:-$BENCH_DIR}
bench_check_ports "$LEVEE_PORT" "$LEVEE_ADMIN_PORT"
start_grpc_peer
write_grpc_request_file

run_grpcio() {  # $1 target port, $2 calls, $3 concurrency, $4 output file
  timeout $((TIMEOUT_MS / 1000 + 60)) "${PRIO[@]}" taskset -c "$CLIENT_CPU" "$PYTHON" "$CLIENT_SCRIPT" \
    --target "127.0.0.1:$1" --method "$METHOD" --calls "$2" --concurrency "$3" \
    --channels "$CHANNELS" --same-request --request "$REQUEST" \
    --authorization "$AUTHORIZATION" --metadata "x-delay-ms=$UPSTREAM_DELAY_MS" \
    --timeout-ms "$TIMEOUT_MS" >"$4"
}

RESULTS=$BENCH_DIR/results.tsv
: >"$RESULTS"

# One result line from the server's counters ($1, JSON) and either a grpcio report ($2 = report
# file) or h2load's output ($2 = output, $3 = per-request log); also writes the kept report $4.
record() {  # $1 stats, $2 client, $3 variant, $4 round, $5 report/output, $6 h2load log or "", $7 kept file, $8 calls sent, $9 "levee_cpu_ms<TAB>server_cpu_ms"
  "$PYTHON" - "${@:1:7}" "$(load_average)" "$8" "$MIN_ANSWER_BYTES" "$9" >>"$RESULTS" <<'PY'
import json, math, re, sys
stats_text, client, variant, rnd, source, h2log, kept, load, calls, min_bytes, cpu = sys.argv[1:12]
stats = json.loads(stats_text)
calls, min_bytes = int(calls), int(min_bytes)

def pct(sorted_values, f):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values), max(1, math.ceil(f * len(sorted_values)))) - 1]

if client == "grpcio":
    report = json.load(open(source))
    s = report["summary"]
    lat = sorted(c["latency_ms"] for c in report["calls"] if c["latency_ms"] is not None)
    ok, errors, wall = s["ok"], s["errors"], s["wall_ms"]
    slim = [{"index": c["index"], "code": c["code"], "latency_ms": c["latency_ms"],
             "x_call": dict((k, v) for k, v in c.get("initial_metadata", [])).get("x-call")}
            for c in report["calls"]]
    # The client's report without the bodies and metadata (the same on every call), plus
    # which upstream call answered each (its x-call initial metadata) and the server's counters.
    json.dump({"client": client, "variant": variant, "round": int(rnd), "summary": s,
               "upstream_stats": stats, "calls": slim}, open(kept, "w"), separators=(",", ":"))
else:
    text = open(source).read()
    lines = [l.split("\t") for l in open(h2log).read().splitlines() if l.strip()]
    lat = sorted(int(l[2]) / 1000.0 for l in lines if l[1].startswith("2"))
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", text)
    data = re.search(r"\((\d+)\) data", text)
    wall = re.search(r"finished in ([0-9.]+)(m?s)", text)
    wall = float(wall.group(1)) * (1 if wall.group(2) == "ms" else 1000) if wall else float("nan")
    succeeded = int(m.group(4)) if m else 0
    data_bytes = int(data.group(1)) if data else 0
    # h2load sees HTTP statuses only: a gRPC error in trailers is still a 200. Every OK answer
    # carries a message and a trailers-only error none, so the DATA bytes must cover them all.
    errors = {}
    if m and int(m.group(5)) + int(m.group(6)) + int(m.group(7)):
        errors["h2load_failed"] = int(m.group(5)) + int(m.group(6)) + int(m.group(7))
    if calls - succeeded:
        errors["not_2xx_or_missing"] = calls - succeeded
    if data_bytes < succeeded * min_bytes:
        errors["short_data"] = f"{data_bytes}<{succeeded * min_bytes}"
    ok = succeeded if "short_data" not in errors else 0
    json.dump({"client": client, "variant": variant, "round": int(rnd), "upstream_stats": stats,
               "h2load_data_bytes": data_bytes}, open(kept, "w"), separators=(",", ":"))
upstream = stats["unary_calls"]
print("\t".join(str(v) for v in (rnd, client, variant, len(lat), ok,
      json.dumps(errors, separators=(",", ":")), "%.3f" % pct(lat, 0.50), "%.3f" % pct(lat, 0.99),
      "%.3f" % (lat[-1] if lat else float("nan")), "%.1f" % wall, upstream,
      "%.2f" % (100.0 * upstream / max(1, len(lat))), len(stats["by_peer"]),
      stats["max_in_flight"], stats["failed_calls"] + stats["cancelled_calls"], load, cpu)))
PY
}

STREAMS_PER_CHANNEL=$(((CONCURRENCY + CHANNELS - 1) / CHANNELS))

# CPU time (ms, all threads, from /proc/PID/task/*/schedstat in ns) of a process; "" if gone.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f", s}'; }
cpu_begin() {  # $1 levee pid or ""
  LEVEE_CPU0=""
  if [[ -n ${1:-} ]]; then LEVEE_CPU0=$(cpu_ns "$1"); fi
  PEER_CPU0=$(cpu_ns "$PEER_PID")
}
cpu_end() {  # $1 levee pid or "": "levee_ms<TAB>peer_ms" over the burst
  local l="" p
  if [[ -n ${1:-} ]]; then l=$(awk -v a="$LEVEE_CPU0" -v b="$(cpu_ns "$1")" 'BEGIN {printf "%.1f", (b - a) / 1e6}'); fi
  p=$(awk -v a="$PEER_CPU0" -v b="$(cpu_ns "$PEER_PID")" 'BEGIN {printf "%.1f", (b - a) / 1e6}')
  printf '%s\t%s' "${l:--}" "$p"
}

measure() {  # $1 variant, $2 round, $3 client (grpcio|h2load)
  local name=$1 round=$2 client=$3 port levee_pid="" cpu
  case $name in
    control) port=$GRPC_PORT ;;
    levee) write_levee_grpc_conf '# collapse defaults (preset "default": inflight, max_waiters 100)'; start_levee; port=$LEVEE_PORT ;;
    levee-w1000) write_levee_grpc_conf 'max_waiters = 1000'; start_levee; port=$LEVEE_PORT ;;
    *) bench_die "unknown variant $name" ;;
  esac
  local tag=$round-$client-$name
  [[ $name == control ]] || levee_pid=$LEVEE_PID
  # Warm-up: connections up, levee's upstream HTTP/2 connection open.
  if [[ $client == grpcio ]]; then
    run_grpcio "$port" 20 20 "$BENCH_DIR/warmup.json"
    peer_reset
    cpu_begin "$levee_pid"
    run_grpcio "$port" "$CALLS" "$CONCURRENCY" "$BENCH_DIR/report.json"
    cpu=$(cpu_end "$levee_pid")
    sleep 0.2
    record "$(peer_stats)" grpcio "$name" "$round" "$BENCH_DIR/report.json" "" "$RAW_DIR/grpc-$tag.json" "$CALLS" "$cpu"
  else
    run_h2load "$port" 20 "$CHANNELS" 2 "$BENCH_DIR/warmup.txt" "$BENCH_DIR/warmup.log"
    peer_reset
    cpu_begin "$levee_pid"
    run_h2load "$port" "$CALLS" "$CHANNELS" "$STREAMS_PER_CHANNEL" "$RAW_DIR/h2load-$tag.txt" "$RAW_DIR/h2load-$tag.log" ||
      { cat "$RAW_DIR/h2load-$tag.txt" >&2; bench_die "h2load failed"; }
    cpu=$(cpu_end "$levee_pid")
    sleep 0.2
    record "$(peer_stats)" h2load "$name" "$round" "$RAW_DIR/h2load-$tag.txt" "$RAW_DIR/h2load-$tag.log" "$RAW_DIR/stats-$tag.json" "$CALLS" "$cpu"
  fi
  bench_log "round $round $client $name: $(tail -n1 "$RESULTS" | cut -f4-)"
  [[ $name == control ]] || stop_levee
  sleep 1
}

# The server's own answer time for one call at a time (no burst, no levee): what "the upstream
# latency" is in the goal, measured rather than assumed from x-delay-ms. Then the same through
# levee (the w1000 route; one call at a time never collapses): levee's cost per call without
# a burst.
peer_alone() {  # $1 round
  peer_reset
  cpu_begin ""
  run_h2load "$GRPC_PORT" "$ALONE_CALLS" 1 1 "$RAW_DIR/h2load-$1-peer-alone.txt" "$RAW_DIR/h2load-$1-peer-alone.log"
  record "$(peer_stats)" h2load peer-alone "$1" "$RAW_DIR/h2load-$1-peer-alone.txt" "$RAW_DIR/h2load-$1-peer-alone.log" "$RAW_DIR/stats-$1-peer-alone.json" "$ALONE_CALLS" "$(cpu_end "")"
  bench_log "round $1 h2load peer-alone: $(tail -n1 "$RESULTS" | cut -f4-)"
  write_levee_grpc_conf 'max_waiters = 1000'
  start_levee
  run_h2load "$LEVEE_PORT" 5 1 1 "$BENCH_DIR/warmup.txt" "$BENCH_DIR/warmup.log"
  peer_reset
  cpu_begin "$LEVEE_PID"
  run_h2load "$LEVEE_PORT" "$ALONE_CALLS" 1 1 "$RAW_DIR/h2load-$1-levee-alone.txt" "$RAW_DIR/h2load-$1-levee-alone.log"
  record "$(peer_stats)" h2load levee-alone "$1" "$RAW_DIR/h2load-$1-levee-alone.txt" "$RAW_DIR/h2load-$1-levee-alone.log" "$RAW_DIR/stats-$1-levee-alone.json" "$ALONE_CALLS" "$(cpu_end "$LEVEE_PID")"
  bench_log "round $1 h2load levee-alone: $(tail -n1 "$RESULTS" | cut -f4-)"
  stop_levee
}
ALONE_CALLS=${ALONE_CALLS:-20}

read -r -a VARIANT_LIST <<<"$VARIANTS"
read -r -a CLIENT_LIST <<<"$CLIENTS"
bench_log "start: load average $(load_average); nice $NICE; $(cat /proc/self/autogroup 2>/dev/null || echo 'no autogroup'); levee on cpu $SERVER_CPU, server on cpu $UPSTREAM_CPU, client on cpu $CLIENT_CPU; $ROUNDS rounds of $CALLS identical calls (concurrency $CONCURRENCY, $CHANNELS channels, x-delay-ms $UPSTREAM_DELAY_MS), clients: $CLIENTS"
for round in $(seq "$ROUNDS"); do
  peer_alone "$round"
  # Rotate the order: each variant goes first once every ${#VARIANT_LIST[@]} rounds.
  n=${#VARIANT_LIST[@]}
  for client in "${CLIENT_LIST[@]}"; do
    for i in $(seq 0 $((n - 1))); do measure "${VARIANT_LIST[$(((i + round - 1) % n))]}" "$round" "$client"; done
  done
done

echo
printf '%-5s %-7s %-12s %6s %6s %-8s %8s %8s %8s %9s %8s %8s %6s %10s %10s %s\n' round client variant calls ok errors 'p50 ms' 'p99 ms' 'max ms' 'wall ms' upstream 'up/call' conns 'levee cpu' 'server cpu' 'load avg'
awk -F'\t' '{printf "%-5s %-7s %-12s %6s %6s %-8s %8.2f %8.2f %8.2f %9.1f %8s %7s%% %6s %8s ms %8s ms %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $17, $18, $16}' "$RESULTS"

median() {  # $1 client, $2 variant, $3 column
  awk -F'\t' -v k="$1" -v s="$2" -v c="$3" '$2 == k && $3 == s {print $c}' "$RESULTS" | sort -g |
    awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
range() {
  awk -F'\t' -v k="$1" -v s="$2" -v c="$3" '$2 == k && $3 == s {print $c}' "$RESULTS" | sort -g | awk 'NR == 1 {a = $1} {b = $1} END {print a ".." b}'
}
ALONE_P50=$(median h2load peer-alone 7)
echo
echo "medians of $ROUNDS runs (range in brackets)"
printf '  the server alone, one call at a time: p50 %.2f ms, p99 %.2f ms (x-delay-ms %s)\n' "$ALONE_P50" "$(median h2load peer-alone 8)" "$UPSTREAM_DELAY_MS"
printf '  through levee, one call at a time:    p50 %.2f ms, p99 %.2f ms\n' "$(median h2load levee-alone 7)" "$(median h2load levee-alone 8)"
echo "  goal: upstream calls <= 1 % of calls, p99 <= $UPSTREAM_DELAY_MS + 2 ms (and, against the measured server, <= $ALONE_P50 + 2 ms)"
for client in "${CLIENT_LIST[@]}"; do
  for name in "${VARIANT_LIST[@]}"; do
    p99=$(median "$client" "$name" 8); pct=$(median "$client" "$name" 12)
    printf '  %-7s %-12s p50 %.2f ms, p99 %.2f ms [%s], max %.2f ms, upstream calls %s (%s %%) [%s]' "$client" "$name" \
      "$(median "$client" "$name" 7)" "$p99" "$(range "$client" "$name" 8)" "$(median "$client" "$name" 9)" \
      "$(median "$client" "$name" 11)" "$pct" "$(range "$client" "$name" 11)"
    [[ $name == control ]] || printf ', levee cpu %s ms per burst' "$(median "$client" "$name" 17)"
    if [[ $name == control ]]; then
      echo "  (no levee: every call goes upstream)"
    else
      awk -v p="$p99" -v d="$UPSTREAM_DELAY_MS" -v a="$ALONE_P50" -v pct="$pct" 'BEGIN {
        printf "  calls %s, p99 %s (vs the measured server: %s)\n", (pct <= 1.0 ? "met" : "NOT met"),
          (p <= d + 2 ? "met" : "NOT met"), (p <= a + 2 ? "met" : "NOT met") }'
    fi
  done
done
if [[ -n $OUT_DIR ]]; then
  { printf 'round\tclient\tvariant\tanswered\tok\terrors\tp50_ms\tp99_ms\tmax_ms\twall_ms\tupstream_calls\tupstream_pct\tupstream_connections\tupstream_max_in_flight\tupstream_failed_or_cancelled\tload_avg\tlevee_cpu_ms\tserver_cpu_ms\n'; cat "$RESULTS"; } >"$OUT_DIR/results.tsv"
  echo "raw outputs in $OUT_DIR"
fi
exit 0
