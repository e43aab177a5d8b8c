#!/usr/bin/env bash
# Issue 17.1: levee's memory with many large bodies in flight. CLIENTS (200) concurrent
# downloads of one BODY_BYTES (32 MiB) file through a pass route; the goal is levee's peak
# resident memory (VmHWM) <= 128 MiB. A levee that buffers whole bodies needs about
# CLIENTS x BODY_BYTES (6.4 GiB). Run by hand, never in CI.
#
#   bench/stream_memory.sh                                   # the current levee, 1 round
#   BASELINE_BIN=/tmp/old/build/bin/levee bench/stream_memory.sh   # + an older levee, alternating
#   ROUNDS=2 CLIENTS=200 OUT=docs/data/stream_memory-DATE.tsv bench/stream_memory.sh
#   ONLY=baseline BASELINE_BIN=... bench/stream_memory.sh     # just the older levee
#
# Upstream: nginx (1 worker, sendfile) serving a BODY_BYTES file from a temp dir, so that the
# upstream itself holds nothing per download (levee-upstream builds each answer in memory and
# caps ?pad= at 32 MiB of padding inside a JSON echo). levee: 1 worker on SERVER_CPU, one pass
# route, max_response_bytes "64MiB" (the default, enough for the old binary to buffer 32 MiB),
# request_timeout 600s. Clients: CLIENTS curl processes at once on CLIENT_CPU, each with
# --max-time MAX_TIME and, if RATE is set, --limit-rate RATE. Each levee binary is started
# fresh for its run (one at a time: they are never up together), the order alternating by round.
# After every download has ended: levee's VmHWM and VmRSS from /proc/PID/status, its CPU time,
# and a check that every download got 200 and exactly BODY_BYTES bytes.
# BASELINE_AS (e.g. 16G) caps the baseline's address space with prlimit; empty = no cap.
#
# Output: a summary per run; OUT (a TSV, one line per run) and OUT_RAW (one line per download).
# BENCH_KEEP_DIR=1 keeps the temp dir (levee's stderr, the upstream nginx's error log, per-curl
# outputs) for a look at why downloads ended short.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLIENTS=${CLIENTS:-200}
BODY_BYTES=${BODY_BYTES:-33554432}
ROUNDS=${ROUNDS:-1}
MAX_TIME=${MAX_TIME:-600}
RATE=${RATE:-}
BASELINE_BIN=${BASELINE_BIN:-}
BASELINE_AS=${BASELINE_AS:-}
OUT=${OUT:-}
OUT_RAW=${OUT_RAW:-}
STATIC_PORT=${STATIC_PORT:-19710}
LEVEE_PORT=${STREAM_LEVEE_PORT:-19711}
LEVEE_ADMIN_PORT=${STREAM_LEVEE_ADMIN_PORT:-19712}
GOAL_KIB=$((128 * 1024))

for tool in curl taskset "$NGINX_BIN"; do
  command -v "$tool" >/dev/null || bench_die "$tool not found"
done
[[ -x $LEVEE_BIN ]] || bench_die "build levee first: cmake --build --preset release --target levee"
[[ -z $BASELINE_BIN || -x $BASELINE_BIN ]] || bench_die "BASELINE_BIN $BASELINE_BIN is not executable"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_setup_dir
bench_check_ports "$STATIC_PORT" "$LEVEE_PORT" "$LEVEE_ADMIN_PORT"

# The static upstream: nginx, 1 worker, serving $BENCH_DIR/www/api/big.
mkdir -p "$BENCH_DIR/www/api" "$BENCH_DIR/static/logs" "$BENCH_DIR/static/tmp"
head -c "$BODY_BYTES" /dev/urandom >"$BENCH_DIR/www/api/big"
chmod -R 755 "$BENCH_DIR/www" "$BENCH_DIR/static"
cat >"$BENCH_DIR/static/nginx.conf" <<EOF
worker_processes 1;
error_log $BENCH_DIR/static/logs/error.log info;   # info: send_timeout closes are logged
pid $BENCH_DIR/static/logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
$(nginx_temp_paths "$BENCH_DIR/static")
    sendfile on;
    keepalive_requests 100000000;
    # nginx's default send_timeout (60 s without progress) would let the upstream, not levee
    # or the client, end a stream that levee holds back; give it the clients' MAX_TIME.
    send_timeout ${MAX_TIME}s;
    server {
        listen 127.0.0.1:$STATIC_PORT;
        root $BENCH_DIR/www;
    }
}
EOF
taskset -c "$UPSTREAM_CPU" "$NGINX_BIN" -p "$BENCH_DIR/static" -c "$BENCH_DIR/static/nginx.conf" \
  -g 'daemon off;' >"$BENCH_DIR/static.stderr" 2>&1 &
BENCH_PIDS+=("$!")
for _ in $(seq 100); do
  curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$STATIC_PORT/api/big" -r 0-0 && break
  sleep 0.1
done
direct=$(curl -s -o /dev/null --max-time 60 -w '%{http_code} %{size_download}' "http://127.0.0.1:$STATIC_PORT/api/big")
[[ $direct == "200 $BODY_BYTES" ]] || bench_die "static upstream answered '$direct'"

CONF=$BENCH_DIR/levee.toml
cat >"$CONF" <<EOF
[server]
listen = "127.0.0.1:$LEVEE_PORT"
admin_listen = "127.0.0.1:$LEVEE_ADMIN_PORT"
workers = 1
max_connections = $((CLIENTS * 2 + 100))

[log]
level = "warn"

[upstreams.static]
address = "127.0.0.1:$STATIC_PORT"
max_idle_connections = $((CLIENTS + 10))
max_response_bytes = "64MiB"
request_timeout = "600s"
max_inflight = 1024

[[routes]]
name = "big"
path_prefix = "/api/"
upstream = "static"
mode = "pass"
EOF

RUNS=$BENCH_DIR/runs.tsv
RAW=$BENCH_DIR/raw.tsv
printf 'binary\tround\tclients\tbody_bytes\tok\twall_s\tvmhwm_kib\tvmrss_after_kib\tcpu_s\tp50_s\tmax_s\tfate\n' >"$RUNS"
printf 'binary\tround\tclient\thttp_code\tsize_download\ttime_total_s\tcurl_exit\n' >"$RAW"
TARGETS=(new)
[[ -n $BASELINE_BIN ]] && TARGETS+=(baseline)
# ONLY=new or ONLY=baseline runs just that one (e.g. to run the two in separate invocations).
if [[ -n ${ONLY:-} ]]; then TARGETS=("$ONLY"); fi

# $1 label (new|baseline), $2 round.
measure() {
  local label=$1 round=$2 bin=$LEVEE_BIN prefix=() dir=$BENCH_DIR/run-$1-$2 i
  mkdir -p "$dir"
  if [[ $label == baseline ]]; then
    bin=$BASELINE_BIN
    [[ -n $BASELINE_AS ]] && prefix=(prlimit --as="$BASELINE_AS")
  fi
  : >"$dir/levee.out"
  "${PRIO[@]}" "${prefix[@]}" taskset -c "$SERVER_CPU" "$bin" serve --config "$CONF" \
    >"$dir/levee.out" 2>"$dir/levee.stderr" &
  local pid=$!
  BENCH_PIDS+=("$pid")
  bench_wait_line "$dir/levee.out" 'levee ready' 10 || { cat "$dir/levee.stderr" >&2; bench_die "$label levee did not start"; }
  local url="http://127.0.0.1:$LEVEE_PORT/api/big" t0 t1 curl_pids=()
  local rate=()
  [[ -n $RATE ]] && rate=(--limit-rate "$RATE")
  bench_log "round $round $label ($bin): $CLIENTS concurrent downloads of $BODY_BYTES bytes"
  t0=$(date +%s.%N)
  for i in $(seq "$CLIENTS"); do
    taskset -c "$CLIENT_CPU" curl -s -o /dev/null --max-time "$MAX_TIME" "${rate[@]}" \
      -w '%{http_code}\t%{size_download}\t%{time_total}\t%{exitcode}\n' "$url" >"$dir/c$i" 2>/dev/null &
    curl_pids+=("$!")
  done
  # Every curl ends within MAX_TIME (--max-time).
  for i in "${curl_pids[@]}"; do wait "$i" || true; done
  t1=$(date +%s.%N)
  local hwm=NA rss=NA cpu=NA fate=running
  if kill -0 "$pid" 2>/dev/null; then
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$pid/stat")
    bench_stop_pid "$pid"
  else
    local rc=0
    wait "$pid" 2>/dev/null || rc=$?
    bench_forget_pid "$pid"
    fate="exited rc=$rc"
    ((rc == 137)) && fate="killed (SIGKILL, rc=137; OOM?)"
    tail -n 5 "$dir/levee.stderr" >&2 || true
  fi
  for i in $(seq "$CLIENTS"); do
    local line
    line=$(cat "$dir/c$i" 2>/dev/null || true)
    [[ -n $line ]] || line=$'000\t0\tNA\tNA'
    printf '%s\t%s\t%s\t%s\n' "$label" "$round" "$i" "$line" >>"$RAW"
  done
  local ok p50 maxt
  ok=$(awk -F'\t' -v l="$label" -v r="$round" -v b="$BODY_BYTES" \
    '$1 == l && $2 == r && $4 == 200 && $5 == b {n++} END {print n + 0}' "$RAW")
  p50=$(awk -F'\t' -v l="$label" -v r="$round" '$1 == l && $2 == r && $6 != "NA" {print $6}' "$RAW" |
    sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "NA"; else print v[int((NR + 1) / 2)]}')
  maxt=$(awk -F'\t' -v l="$label" -v r="$round" '$1 == l && $2 == r && $6 != "NA" {print $6}' "$RAW" |
    sort -g | tail -n 1)
  local wall
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$round" "$CLIENTS" "$BODY_BYTES" \
    "$ok" "$wall" "$hwm" "$rss" "$cpu" "$p50" "${maxt:-NA}" "$fate" >>"$RUNS"
  bench_log "round $round $label: $ok/$CLIENTS complete, ${wall}s, VmHWM $hwm KiB, VmRSS after $rss KiB, cpu ${cpu}s, $fate"
  sleep 1
}

bench_log "start: load average $(load_average); levee on cpu $SERVER_CPU, curl on cpu $CLIENT_CPU, nginx upstream on cpu $UPSTREAM_CPU"
for round in $(seq "$ROUNDS"); do
  if ((round % 2)); then order=("${TARGETS[@]}"); else order=(); for ((k = ${#TARGETS[@]} - 1; k >= 0; k--)); do order+=("${TARGETS[k]}"); done; fi
  for t in "${order[@]}"; do measure "$t" "$round"; done
done

[[ -n $OUT ]] && cp "$RUNS" "$OUT"
[[ -n $OUT_RAW ]] && cp "$RAW" "$OUT_RAW"
echo "# $(date -u +%FT%TZ) $(uname -n) $(nproc) cores, kernel $(uname -r), load $(load_average)"
echo "# levee $(git -C "$BENCH_ROOT" rev-parse --short HEAD) ($LEVEE_BIN)${BASELINE_BIN:+, baseline $BASELINE_BIN}; $CLIENTS x $BODY_BYTES bytes"
printf '%-9s %5s %9s %8s %12s %12s %7s %7s %7s  %s\n' binary round complete wall_s 'VmHWM MiB' 'RSS after' cpu_s p50_s max_s fate
awk -F'\t' 'NR > 1 {
  h = ($7 == "NA") ? "NA" : sprintf("%.1f", $7 / 1024); r = ($8 == "NA") ? "NA" : sprintf("%.1f", $8 / 1024)
  printf "%-9s %5s %5s/%-3s %8s %12s %12s %7s %7s %7s  %s\n", $1, $2, $5, $3, $6, h, r, $9, $10, $11, $12 }' "$RUNS"
awk -F'\t' -v g="$GOAL_KIB" -v n="$CLIENTS" 'NR > 1 && $1 == "new" {
  printf "  new, round %s: VmHWM %.1f MiB (goal <= 128 MiB: %s), %s/%s downloads complete\n", $2, $7 / 1024,
    ($7 != "NA" && $7 <= g ? "met" : "NOT met"), $5, n }' "$RUNS"
exit 0
