#!/usr/bin/env bash
# `make run`: the bundled mock upstream on 127.0.0.1:9000 and levee in front of it with
# examples/levee.toml. Ctrl-C stops both; levee drains gracefully first.
set -euo pipefail
cd "$(dirname "$0")/.."
upstream_listen=${LEVEE_RUN_UPSTREAM:-127.0.0.1:9000}
build/bin/levee-upstream --listen "$upstream_listen" --latency 20ms &
upstream_pid=$!
trap 'kill "$upstream_pid" 2>/dev/null || true; wait "$upstream_pid" 2>/dev/null || true' EXIT
build/bin/levee serve --config examples/levee.toml
