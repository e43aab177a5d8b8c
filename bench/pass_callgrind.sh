#!/usr/bin/env bash
# Instructions per pass-through request, counted by valgrind's callgrind: a measure of levee's
# small-response pass cost that machine load does not move (wrk's req/s on a shared machine
# does). Run by hand, never in CI.
#
#   bench/pass_callgrind.sh                                     # the current levee
#   BASELINE_BIN=/tmp/old/build/bin/levee bench/pass_callgrind.sh   # + an older levee, alternating
#   ROUNDS=2 N_SMALL=1000 N_LARGE=3000 OUT=docs/data/pass_callgrind-DATE.tsv bench/pass_callgrind.sh
#
# For each binary and round, levee (1 worker, the pass route of bench/lib.sh in front of
# levee-upstream, run natively on UPSTREAM_CPU) is started under `valgrind --tool=callgrind`
# twice: once for N_SMALL and once for N_LARGE sequential keep-alive GETs of /api/bench from
# one curl (one connection; curl itself is not under valgrind). levee is stopped with SIGTERM
# after the requests, and callgrind's total instruction count (Ir, all threads) is read from its
# output. Instructions per request = (Ir(N_LARGE) - Ir(N_SMALL)) / (N_LARGE - N_SMALL), which
# cancels start-up and shut-down. valgrind 3.19 cannot read clang-19's DWARF 5: each binary is
# copied and stripped of debug info (llvm-strip-19 -g, or STRIP) first.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-1}
N_SMALL=${N_SMALL:-1000}
N_LARGE=${N_LARGE:-3000}
BASELINE_BIN=${BASELINE_BIN:-}
OUT=${OUT:-}
STRIP=${STRIP:-llvm-strip-19}
PATH_UNDER_TEST=/api/bench

for tool in valgrind curl taskset "$STRIP"; do
  command -v "$tool" >/dev/null || bench_die "$tool not found"
done
[[ -x $LEVEE_BIN && -x $UPSTREAM_BIN ]] ||
  bench_die "build levee first: cmake --build --preset release --target levee levee-upstream"
[[ -z $BASELINE_BIN || -x $BASELINE_BIN ]] || bench_die "BASELINE_BIN $BASELINE_BIN is not executable"
((N_LARGE > N_SMALL)) || bench_die "N_LARGE must be larger than N_SMALL"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_setup_dir
bench_check_ports "$UPSTREAM_PORT" "$LEVEE_PORT" "$LEVEE_ADMIN_PORT"

"$STRIP" -g -o "$BENCH_DIR/levee-new" "$LEVEE_BIN"
TARGETS=(new)
if [[ -n $BASELINE_BIN ]]; then
  "$STRIP" -g -o "$BENCH_DIR/levee-baseline" "$BASELINE_BIN"
  TARGETS+=(baseline)
fi

write_levee_conf
start_upstream

RAW=$BENCH_DIR/raw.tsv
printf 'binary\tround\trequests\tok\ttotal_instructions\n' >"$RAW"

# $1 label, $2 round, $3 requests.
count() {
  local label=$1 round=$2 n=$3 dir=$BENCH_DIR/$1-$2-$3 i
  mkdir -p "$dir"
  : >"$dir/levee.out"
  timeout 600 taskset -c "$SERVER_CPU" valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
    "$BENCH_DIR/levee-$label" serve --config "$LEVEE_CONF" >"$dir/levee.out" 2>"$dir/levee.stderr" &
  local pid=$!
  BENCH_PIDS+=("$pid")
  bench_wait_line "$dir/levee.out" 'levee ready' 120 || { cat "$dir/levee.stderr" >&2; bench_die "$label levee did not start under valgrind"; }
  for ((i = 0; i < n; i++)); do
    printf 'url = "http://127.0.0.1:%s%s"\noutput = "/dev/null"\n' "$LEVEE_PORT" "$PATH_UNDER_TEST"
  done >"$dir/curl.conf"
  local ok
  ok=$(taskset -c "$CLIENT_CPU" curl -s --max-time 300 -K "$dir/curl.conf" -w '%{http_code}\n' | grep -c '^200$' || true)
  bench_stop_pid "$pid"
  local ir
  ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$dir/callgrind.out" 2>/dev/null || true)
  printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$round" "$n" "$ok" "${ir:-NA}" >>"$RAW"
  bench_log "round $round $label: $n requests ($ok answered 200), $ir instructions"
}

bench_log "start: load average $(load_average); $ROUNDS rounds of $N_SMALL and $N_LARGE requests per binary"
for round in $(seq "$ROUNDS"); do
  if ((round % 2)); then order=("${TARGETS[@]}"); else order=(); for ((k = ${#TARGETS[@]} - 1; k >= 0; k--)); do order+=("${TARGETS[k]}"); done; fi
  for t in "${order[@]}"; do
    count "$t" "$round" "$N_SMALL"
    count "$t" "$round" "$N_LARGE"
  done
done

[[ -n $OUT ]] && cp "$RAW" "$OUT"
echo "# $(date -u +%FT%TZ) $(uname -n), $(valgrind --version)"
echo "# levee $(git -C "$BENCH_ROOT" rev-parse --short HEAD) ($LEVEE_BIN)${BASELINE_BIN:+, baseline $BASELINE_BIN}"
awk -F'\t' -v a="$N_SMALL" -v b="$N_LARGE" 'NR > 1 {ir[$1 "\t" $2 "\t" $3] = $5; ok[$1 "\t" $2 "\t" $3] = $4; k[$1 "\t" $2] = 1}
  END {
    printf "%-9s %5s %14s %14s %14s\n", "binary", "round", "Ir(" a ")", "Ir(" b ")", "Ir/request"
    for (x in k) {
      s = ir[x "\t" a]; l = ir[x "\t" b]
      split(x, p, "\t")
      printf "%-9s %5s %14s %14s %14.0f\n", p[1], p[2], s, l, (l - s) / (b - a)
    }
  }' "$RAW"
exit 0
