#!/usr/bin/env bash
# Issue 16.1: the delayed-ACK stall on a reused upstream connection. An upstream that sends its
# header block and its body in two writes with Nagle's algorithm on makes the body wait for
# the ACK of the header segment; a proxy whose reused connection delays that ACK adds ~40 ms
# to every request after the first. Measured side by side in one run, interleaved request by
# block by block: direct to the upstream, through levee (pass route, 1 worker), through nginx
# (1 worker, proxy_pass with `keepalive 16`). Run by hand, never in CI.
#
#   bench/upstream_stall.sh          # 3 rounds of 100 sequential requests per target, both upstreams
#   ROUNDS=5 REQUESTS=200 bench/upstream_stall.sh
#   OUT=docs/data/upstream_stall-DATE.tsv bench/upstream_stall.sh   # keep the raw timings
#   BASELINE_BIN=/tmp/old/build/bin/levee bench/upstream_stall.sh      # + an older levee ("baseline")
#
# Upstreams: levee-upstream --split-writes, and Python's http.server
# (tests/peers/http_server_peer.py), the peer the stall was found with. Each request is a
# fresh curl (a new client connection, as in the finding); the proxies' upstream connections
# are pooled and reused. A round sends REQUESTS back-to-back requests to each target in turn
# (the order rotates each round); interleaving request by request would put other targets'
# requests into the gaps and hide part of the stall. Figures are curl's time_total in ms; the
# summary gives, over all rounds, the median and p90 of each target, the median's excess over
# direct, and how many requests took 30 ms or more (stalled).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REQUESTS=${REQUESTS:-100}
BASELINE_BIN=${BASELINE_BIN:-}
BASELINE_PORT=${BASELINE_PORT:-19705}
BASELINE_ADMIN_PORT=${BASELINE_ADMIN_PORT:-19706}
TARGETS=(direct levee nginx)
[[ -n $BASELINE_BIN ]] && TARGETS+=(baseline)
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-}
PEER=$BENCH_ROOT/tests/peers/http_server_peer.py
PEER_PORT=${PEER_PORT:-19704}

for tool in curl taskset python3 "$NGINX_BIN"; do
  command -v "$tool" >/dev/null || bench_die "$tool not found"
done
[[ -x $LEVEE_BIN && -x $UPSTREAM_BIN ]] ||
  bench_die "build levee first: cmake --build --preset release --target levee levee-upstream"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_setup_dir
bench_check_ports "$UPSTREAM_PORT" "$NGINX_PORT" "$LEVEE_PORT" "$LEVEE_ADMIN_PORT" "$PEER_PORT" \
  "$BASELINE_PORT" "$BASELINE_ADMIN_PORT"

# The same pass route in an older levee binary, beside the current one.
start_baseline() {
  sed "s/127.0.0.1:$LEVEE_PORT/127.0.0.1:$BASELINE_PORT/; s/127.0.0.1:$LEVEE_ADMIN_PORT/127.0.0.1:$BASELINE_ADMIN_PORT/" \
    "$LEVEE_CONF" >"$BENCH_DIR/baseline.toml"
  : >"$BENCH_DIR/baseline.out"
  taskset -c "$SERVER_CPU" "$BASELINE_BIN" serve --config "$BENCH_DIR/baseline.toml" \
    >"$BENCH_DIR/baseline.out" 2>"$BENCH_DIR/baseline.stderr" &
  BASELINE_PID=$!
  BENCH_PIDS+=("$BASELINE_PID")
  bench_wait_line "$BENCH_DIR/baseline.out" 'levee ready' 10 || bench_die "baseline levee did not start"
}

RAW=$BENCH_DIR/raw.tsv
printf 'upstream\ttarget\tround\trequest\tms\n' >"$RAW"

# $1 upstream label, $2 upstream port, $3 request path.
measure_upstream() {
  local label=$1 port=$2 path=$3 round i target url ms targets
  sed -i "s/^address = .*/address = \"127.0.0.1:$port\"/" "$LEVEE_CONF"
  sed -i "s/server 127.0.0.1:[0-9]*;/server 127.0.0.1:$port;/; s/keepalive 64;/keepalive 16;/" "$NGINX_CONF"
  start_levee
  start_nginx
  [[ -n $BASELINE_BIN ]] && start_baseline
  for round in $(seq "$ROUNDS"); do
    # Rotate the order each round.
    local shift=$(((round - 1) % ${#TARGETS[@]}))
    targets="${TARGETS[*]:shift} ${TARGETS[*]:0:shift}"
    bench_log "$label round $round: $REQUESTS sequential requests to each of $targets"
    for target in $targets; do
      case $target in
        direct) url="http://127.0.0.1:$port$path" ;;
        levee) url="http://127.0.0.1:$LEVEE_PORT$path" ;;
        baseline) url="http://127.0.0.1:$BASELINE_PORT$path" ;;
        nginx) url="http://127.0.0.1:$NGINX_PORT$path" ;;
      esac
      for i in $(seq "$REQUESTS"); do
        ms=$(taskset -c "$CLIENT_CPU" curl -s -o /dev/null --max-time 5 -w '%{time_total}' "$url" |
          awk '{printf "%.3f", $1 * 1000}')
        printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$target" "$round" "$i" "$ms" >>"$RAW"
      done
    done
  done
  stop_levee
  stop_nginx
  [[ -n $BASELINE_BIN ]] && bench_stop_pid "$BASELINE_PID"
  return 0
}

write_levee_conf
write_nginx_conf
start_upstream_split() {
  local log=$BENCH_DIR/upstream.log
  taskset -c "$UPSTREAM_CPU" "$UPSTREAM_BIN" --listen "127.0.0.1:$UPSTREAM_PORT" --split-writes \
    --workers 1 >"$log" 2>&1 &
  UPSTREAM_PID=$!
  BENCH_PIDS+=("$UPSTREAM_PID")
  bench_wait_line "$log" 'levee-upstream ready' 10 || bench_die "levee-upstream did not start"
}
start_upstream_split
taskset -c "$UPSTREAM_CPU" /usr/bin/python3 "$PEER" --port "$PEER_PORT" >"$BENCH_DIR/peer.log" 2>&1 &
BENCH_PIDS+=("$!")
bench_wait_line "$BENCH_DIR/peer.log" 'http_server_peer ready' 10 || bench_die "python peer did not start"

measure_upstream split-writes "$UPSTREAM_PORT" /api/bench
measure_upstream python-http.server "$PEER_PORT" /api/bench

[[ -n $OUT ]] && cp "$RAW" "$OUT"
echo "# $(date -u +%FT%TZ) $(uname -n) $(nproc) cores, kernel $(uname -r), $ROUNDS rounds of $REQUESTS sequential requests per target"
echo "# levee $(git -C "$BENCH_ROOT" rev-parse --short HEAD), $("$NGINX_BIN" -v 2>&1)${BASELINE_BIN:+, baseline $BASELINE_BIN}"
# The q-quantile (nearest rank) of the ms column of the rows for upstream $1 and target $2.
quantile() {
  awk -F'\t' -v u="$1" -v t="$2" '$1 == u && $2 == t {print $5}' "$RAW" | sort -n |
    awk -v q="$3" '{x[NR] = $1} END {r = int(q * NR + 0.999); if (r < 1) r = 1; print x[r]}'
}
printf '%-20s %-8s %9s %9s %14s %9s\n' upstream target p50_ms p90_ms p50-direct_ms stalled
for upstream in split-writes python-http.server; do
  base=$(quantile "$upstream" direct 0.5)
  for target in "${TARGETS[@]}"; do
    p50=$(quantile "$upstream" "$target" 0.5)
    p90=$(quantile "$upstream" "$target" 0.9)
    stalled=$(awk -F'\t' -v u="$upstream" -v t="$target" \
      '$1 == u && $2 == t {n++; if ($5 >= 30) s++} END {printf "%d/%d", s, n}' "$RAW")
    awk -v u="$upstream" -v t="$target" -v a="$p50" -v b="$p90" -v d="$base" -v s="$stalled" \
      'BEGIN {printf "%-20s %-8s %9.3f %9.3f %14.3f %9s\n", u, t, a, b, a - d, s}'
  done
done
