#!/usr/bin/env bash
# Runs each libFuzzer target briefly over its corpus (a smoke run, as Envoy's -runs=10 in CI).
# Usage: scripts/run-fuzzers.sh BIN_DIR [SECONDS_PER_TARGET]
set -euo pipefail
bin=${1:?usage: run-fuzzers.sh BIN_DIR [SECONDS]}
seconds=${2:-${FUZZ_SECONDS:-20}}
root=$(cd "$(dirname "$0")/.." && pwd)
for target in http_request config batch_demux cached_response onnx_model h2_session; do
  work=$(mktemp -d)
  cp "$root/tests/fuzz/corpus/$target/"* "$work/"
  echo "fuzz_$target: ${seconds}s"
  "$bin/fuzz_$target" -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 "$work" \
    2>&1 | tail -n 12
  rm -rf "$work"
done
