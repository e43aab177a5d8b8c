#!/usr/bin/env bash
# Issue 17.1: time to first byte through a pass route, for an upstream that sends its header
# block and the first 1 KiB at once and the rest over 2 s (bench/trickle_upstream.py). The
# goal: levee's TTFB <= the upstream's own TTFB + 1 ms (medians). A levee that buffers whole
# bodies sends nothing before the upstream's last byte (~2 s). Run by hand, never in CI.
#
#   bench/ttfb.sh                                            # direct vs the current levee
#   BASELINE_BIN=/tmp/old/build/bin/levee bench/ttfb.sh      # + an older levee, same run
#   REQUESTS=20 OUT=docs/data/ttfb-DATE.tsv bench/ttfb.sh
#   (the summary gives p10, p50, p90 and max of each target; quantiles are nearest-rank)
#
# Targets: direct (curl to the upstream), levee (LEVEE_BIN, 1 worker, pass route, on
# SERVER_CPU), baseline (BASELINE_BIN, same config on other ports, also on SERVER_CPU). All are
# up at once; the script sends REQUESTS sequential requests to each, interleaved request by
# request (direct, levee, baseline; the order rotating each request). Each request is a fresh
# curl on CLIENT_CPU; figures are curl's time_starttransfer (first response byte) and
# time_total, in ms. The upstream: BODY_BYTES (64 KiB) in all, FIRST_BYTES (1 KiB) at once,
# the rest in PIECES (20) sends over SPREAD (2) seconds, on UPSTREAM_CPU.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REQUESTS=${REQUESTS:-20}
BODY_BYTES=${BODY_BYTES:-65536}
FIRST_BYTES=${FIRST_BYTES:-1024}
PIECES=${PIECES:-20}
SPREAD=${SPREAD:-2}
BASELINE_BIN=${BASELINE_BIN:-}
OUT=${OUT:-}
TRICKLE_PORT=${TRICKLE_PORT:-19730}
LEVEE_PORT=${TTFB_LEVEE_PORT:-19731}
LEVEE_ADMIN_PORT=${TTFB_LEVEE_ADMIN_PORT:-19732}
BASELINE_PORT=${TTFB_BASELINE_PORT:-19733}
BASELINE_ADMIN_PORT=${TTFB_BASELINE_ADMIN_PORT:-19734}
TRICKLE=$BENCH_ROOT/bench/trickle_upstream.py

for tool in curl taskset python3; do
  command -v "$tool" >/dev/null || bench_die "$tool not found"
done
[[ -x $LEVEE_BIN ]] || bench_die "build levee first: cmake --build --preset release --target levee"
[[ -z $BASELINE_BIN || -x $BASELINE_BIN ]] || bench_die "BASELINE_BIN $BASELINE_BIN is not executable"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_setup_dir
bench_check_ports "$TRICKLE_PORT" "$LEVEE_PORT" "$LEVEE_ADMIN_PORT" "$BASELINE_PORT" "$BASELINE_ADMIN_PORT"

"${PRIO[@]}" taskset -c "$UPSTREAM_CPU" python3 "$TRICKLE" --port "$TRICKLE_PORT" --body-bytes "$BODY_BYTES" \
  --first-bytes "$FIRST_BYTES" --pieces "$PIECES" --spread "$SPREAD" >"$BENCH_DIR/trickle.log" 2>&1 &
BENCH_PIDS+=("$!")
bench_wait_line "$BENCH_DIR/trickle.log" 'trickle_upstream ready' 10 || bench_die "trickle_upstream did not start"

# $1 name, $2 listen port, $3 admin port.
write_conf() {
  cat >"$BENCH_DIR/$1.toml" <<EOF
[server]
listen = "127.0.0.1:$2"
admin_listen = "127.0.0.1:$3"
workers = 1

[log]
level = "warn"

[upstreams.trickle]
address = "127.0.0.1:$TRICKLE_PORT"
request_timeout = "30s"

[[routes]]
name = "slow"
path_prefix = "/"
upstream = "trickle"
mode = "pass"
EOF
}

# $1 name, $2 binary.
start_one() {
  : >"$BENCH_DIR/$1.out"
  "${PRIO[@]}" taskset -c "$SERVER_CPU" "$2" serve --config "$BENCH_DIR/$1.toml" \
    >"$BENCH_DIR/$1.out" 2>"$BENCH_DIR/$1.stderr" &
  BENCH_PIDS+=("$!")
  bench_wait_line "$BENCH_DIR/$1.out" 'levee ready' 10 || { cat "$BENCH_DIR/$1.stderr" >&2; bench_die "$1 did not start"; }
}

TARGETS=(direct levee)
write_conf levee "$LEVEE_PORT" "$LEVEE_ADMIN_PORT"
start_one levee "$LEVEE_BIN"
if [[ -n $BASELINE_BIN ]]; then
  TARGETS+=(baseline)
  write_conf baseline "$BASELINE_PORT" "$BASELINE_ADMIN_PORT"
  start_one baseline "$BASELINE_BIN"
fi

RAW=$BENCH_DIR/raw.tsv
printf 'target\trequest\thttp_code\tsize_download\tttfb_ms\ttotal_ms\n' >"$RAW"
bench_log "start: load average $(load_average); $REQUESTS requests to each of ${TARGETS[*]}, interleaved"
for i in $(seq "$REQUESTS"); do
  shift_by=$(((i - 1) % ${#TARGETS[@]}))
  for target in "${TARGETS[@]:shift_by}" "${TARGETS[@]:0:shift_by}"; do
    case $target in
      direct) port=$TRICKLE_PORT ;;
      levee) port=$LEVEE_PORT ;;
      baseline) port=$BASELINE_PORT ;;
    esac
    line=$("${PRIO[@]}" taskset -c "$CLIENT_CPU" curl -s -o /dev/null --max-time 10 \
      -w '%{http_code}\t%{size_download}\t%{time_starttransfer}\t%{time_total}' \
      "http://127.0.0.1:$port/slow" || true)
    printf '%s\t%s\t%s\n' "$target" "$i" "$line" |
      awk -F'\t' -v OFS='\t' '{print $1, $2, $3, $4, sprintf("%.3f", $5 * 1000), sprintf("%.3f", $6 * 1000)}' >>"$RAW"
  done
done

[[ -n $OUT ]] && cp "$RAW" "$OUT"
echo "# $(date -u +%FT%TZ) $(uname -n) $(nproc) cores, kernel $(uname -r), load $(load_average)"
echo "# levee $(git -C "$BENCH_ROOT" rev-parse --short HEAD) ($LEVEE_BIN)${BASELINE_BIN:+, baseline $BASELINE_BIN}"
echo "# upstream: $BODY_BYTES bytes, $FIRST_BYTES at once, the rest in $PIECES pieces over ${SPREAD}s; $REQUESTS requests per target"
# The q-quantile (nearest rank) of column $2 for target $1.
quantile() {
  awk -F'\t' -v t="$1" -v c="$2" 'NR > 1 && $1 == t {print $c}' "$RAW" | sort -g |
    awk -v q="$3" '{x[NR] = $1} END {r = int(q * NR + 0.999); if (r < 1) r = 1; print x[r]}'
}
base=$(quantile direct 5 0.5)
printf '%-9s %10s %10s %10s %10s %15s %12s %9s\n' target ttfb_p10 ttfb_p50 ttfb_p90 ttfb_max 'p50-direct ms' total_p50 complete
for target in "${TARGETS[@]}"; do
  p10=$(quantile "$target" 5 0.1); p50=$(quantile "$target" 5 0.5); p90=$(quantile "$target" 5 0.9); mx=$(quantile "$target" 5 1)
  tot=$(quantile "$target" 6 0.5)
  ok=$(awk -F'\t' -v t="$target" -v b="$BODY_BYTES" 'NR > 1 && $1 == t {n++; if ($3 == 200 && $4 == b) k++} END {printf "%d/%d", k, n}' "$RAW")
  awk -v t="$target" -v z="$p10" -v a="$p50" -v b="$p90" -v m="$mx" -v d="$base" -v s="$tot" -v k="$ok" \
    'BEGIN {printf "%-9s %10.3f %10.3f %10.3f %10.3f %15.3f %12.3f %9s\n", t, z, a, b, m, a - d, s, k}'
done
levee_p50=$(quantile levee 5 0.5)
awk -v a="$levee_p50" -v d="$base" 'BEGIN {
  printf "  levee TTFB p50 - direct p50 = %.3f ms (goal <= 1 ms: %s)\n", a - d, (a - d <= 1 ? "met" : "NOT met") }'
exit 0
