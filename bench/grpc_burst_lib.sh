#!/usr/bin/env bash
# What the gRPC burst benchmarks share (bench/grpc_collapse_burst.sh, bench/grpc_burst_profile.sh):
# the real gRPC server, levee's one-route collapse config, and the burst as raw gRPC from
# h2load. Source after bench/lib.sh; call write_grpc_request_file after bench_setup_dir.

PYTHON=${PYTHON:-/usr/bin/python3}
UPSTREAM_DELAY_MS=${UPSTREAM_DELAY_MS:-50}
TIMEOUT_MS=${TIMEOUT_MS:-10000}
REQUEST=${REQUEST:-burst-question}
AUTHORIZATION=${AUTHORIZATION:-Bearer bench}
PEER_SCRIPT=$BENCH_ROOT/bench/grpc_peer_wide.py
METHOD=/levee.test.Echo/Unary

# The gRPC server on UPSTREAM_CPU, with ephemeral ports printed on its ready line: sets
# PEER_PID, GRPC_PORT and STATS_PORT.
start_grpc_peer() {
  "${PRIO[@]}" taskset -c "$UPSTREAM_CPU" "$PYTHON" "$PEER_SCRIPT" </dev/null \
    >"$BENCH_DIR/peer.out" 2>"$BENCH_DIR/peer.err" &
  PEER_PID=$!
  BENCH_PIDS+=("$PEER_PID")
  bench_wait_line "$BENCH_DIR/peer.out" 'grpc_peer ready' 20 || { cat "$BENCH_DIR/peer.err" >&2; bench_die "grpc_peer did not start"; }
  GRPC_PORT=$(sed -n 's/.*grpc_port=\([0-9]*\).*/\1/p' "$BENCH_DIR/peer.out")
  STATS_PORT=$(sed -n 's/.*stats_port=\([0-9]*\).*/\1/p' "$BENCH_DIR/peer.out")
  bench_log "grpc_peer pid $PEER_PID: grpc 127.0.0.1:$GRPC_PORT, stats 127.0.0.1:$STATS_PORT (cpu $UPSTREAM_CPU)"
}

peer_reset() { curl -s -o /dev/null --max-time 5 -X POST "http://127.0.0.1:$STATS_PORT/reset"; }
peer_stats() { curl -s --max-time 5 "http://127.0.0.1:$STATS_PORT/stats"; }

write_levee_grpc_conf() {  # $1 extra lines for [routes.collapse]
  LEVEE_CONF=$BENCH_DIR/levee.toml
  cat >"$LEVEE_CONF" <<EOT
[server]
listen = "127.0.0.1:$LEVEE_PORT"
admin_listen = "127.0.0.1:$LEVEE_ADMIN_PORT"
workers = 1

[log]
level = "warn"

[upstreams.grpc]
address = "127.0.0.1:$GRPC_PORT"
protocol = "h2c"
request_timeout = "10s"

[[routes]]
name = "echo"
path_prefix = "/levee.test.Echo/"
upstream = "grpc"
mode = "collapse"
grpc = true

[routes.collapse]
$1
EOT
}

# The same call as raw gRPC over h2c from h2load (C, nghttp2): one length-prefixed message
# (flag 0, 4-byte big-endian length), POST with the gRPC headers and the same metadata.
write_grpc_request_file() {  # sets REQUEST_FILE and MIN_ANSWER_BYTES
  REQUEST_FILE=$BENCH_DIR/request.bin
  "$PYTHON" -c 'import struct, sys; m = sys.argv[1].encode(); sys.stdout.buffer.write(b"\0" + struct.pack(">I", len(m)) + m)' \
    "$REQUEST" >"$REQUEST_FILE"
  # An OK answer carries at least "REQUEST|AUTHORIZATION|call=N" in a 5-byte frame.
  # shellcheck disable=SC2034  # read by the scripts that source this file
  MIN_ANSWER_BYTES=$((5 + ${#REQUEST} + 1 + ${#AUTHORIZATION} + 7))
}
run_h2load() {  # $1 target port, $2 calls, $3 connections, $4 streams per connection, $5 output, $6 log
  timeout $((TIMEOUT_MS / 1000 + 60)) "${PRIO[@]}" taskset -c "$CLIENT_CPU" h2load -t 1 -n "$2" -c "$3" -m "$4" \
    -d "$REQUEST_FILE" -H 'content-type: application/grpc' -H 'te: trailers' \
    -H "authorization: $AUTHORIZATION" -H "x-delay-ms: $UPSTREAM_DELAY_MS" \
    -T "$((TIMEOUT_MS / 1000))" -N "$((TIMEOUT_MS / 1000))" \
    --log-file "$6" "http://127.0.0.1:$1$METHOD" >"$5" 2>&1
}
