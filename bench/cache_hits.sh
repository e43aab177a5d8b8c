#!/usr/bin/env bash
# Issue 6's cache benchmark: the same closed-loop load (bench/scenarios/cache_hits_closed.toml)
# against levee with a `pass` route and against levee with the same route caching
# ([routes.cache] ttl 60s), in front of levee-upstream with no latency. Rounds alternate the
# two, each with a fresh levee (1 worker, core 0; levee-bench and the upstream on core 1). The
# report gives each run's throughput and, per round, cache / pass, then the median ratio.
# Run by hand, never in CI; results in docs/benchmarks.md "Issue 6".
#
#   bench/cache_hits.sh [--rounds N] [--out FILE.jsonl]
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LEVEE_BENCH_BIN=${LEVEE_BENCH_BIN:-$BENCH_ROOT/build/bin/levee-bench}
PYTHON=/usr/bin/python3

rounds=5
out=""
while (($#)); do
  case $1 in
    --rounds) (($# >= 2)) || bench_die "--rounds wants a value"; rounds=$2; shift 2 ;;
    --out) (($# >= 2)) || bench_die "--out wants a file"; out=$2; shift 2 ;;
    -h | --help) sed -n '2,9p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
    *) bench_die "unknown argument $1" ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || bench_die "--rounds wants a positive integer"
bench_results_file "$out" cache-hits

trap bench_cleanup EXIT INT TERM
bench_setup_dir
bench_check_ports "$UPSTREAM_PORT" "$LEVEE_PORT" "$LEVEE_ADMIN_PORT"
start_upstream

run_system() {  # $1 label prefix (pass | cache), $2 round
  write_levee_conf
  if [[ $1 == cache ]]; then printf '[routes.cache]\nttl = "60s"\n' >>"$LEVEE_CONF"; fi
  start_levee
  "${PRIO[@]}" taskset -c "$CLIENT_CPU" "$LEVEE_BENCH_BIN" \
    --scenario "$BENCH_ROOT/bench/scenarios/cache_hits_closed.toml" \
    --target "http://127.0.0.1:$LEVEE_PORT" --label "$1-$2" --quiet --progress off \
    --json-out "$BENCH_OUT" >"$BENCH_DIR/$1-$2.txt" 2>&1 || true
  stop_levee
}

for round in $(seq "$rounds"); do
  run_system pass "$round"
  run_system cache "$round"
  bench_log "round $round done"
done

tail -n +"$((BENCH_LINES_BEFORE + 1))" "$BENCH_OUT" | "$PYTHON" -c '
import json, sys
runs = {json.loads(l)["label"]: json.loads(l) for l in sys.stdin}
rounds = sorted({int(k.split("-")[1]) for k in runs})
print("round  pass_req_s  cache_req_s  ratio  pass_errors  cache_errors  cache_p99_ms")
ratios = []
for n in rounds:
    p, c = runs.get(f"pass-{n}"), runs.get(f"cache-{n}")
    if not p or not c:
        continue
    ratio = c["rate_achieved"] / p["rate_achieved"]
    ratios.append(ratio)
    print("%5d  %10.0f  %11.0f  %5.2f  %11d  %12d  %12.3f" % (n, p["rate_achieved"],
          c["rate_achieved"], ratio, p["errors"], c["errors"], c["p99_ms"]))
ratios.sort()
if ratios:
    print("median cache/pass %.2f" % ratios[len(ratios)//2])
'
bench_log "results in $BENCH_OUT"
