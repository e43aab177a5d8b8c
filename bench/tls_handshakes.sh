#!/usr/bin/env bash
# TLS handshakes per second on one worker (issue 20's goal: levee within 10 % of nginx): full
# handshakes, no session resumption, the same ECDSA P-256 certificate and the same cipher suite
# for both servers; nothing is proxied (the client closes once the handshake is done).
# Run by hand, never in CI. Results and method: docs/benchmarks.md.
#
#   bench/tls_handshakes.sh                        # 3 rounds, TLS 1.3 TLS_AES_128_GCM_SHA256
#   ROUNDS=5 SECONDS_PER_RUN=20 bench/tls_handshakes.sh
#   TLS=1.2 bench/tls_handshakes.sh                # ECDHE-ECDSA-AES128-GCM-SHA256 instead
#   KEY=rsa bench/tls_handshakes.sh                # an RSA-2048 certificate (TLS 1.2:
#                                                  # ECDHE-RSA-AES128-GCM-SHA256)
#   OUT_DIR=docs/data/tls_handshakes bench/tls_handshakes.sh   # keep the raw outputs
#
# Loader: `openssl s_time -new` (one full handshake per connection), LOADERS copies of it in
# parallel on CLIENT_CPU; the server under test alone on SERVER_CPU (bench/lib.sh). Only one
# server runs at a time; the order alternates each round. The figure is the sum of the
# loaders' connections divided by the run's seconds; with a loader core that saturates first
# (a client's half of a handshake costs about what the server's does) that is the loader's
# rate, so the server's CPU time per handshake (utime+stime of the nginx worker or of the
# levee process, over the run) is reported too: it is the figure that compares the servers.
#
# With KEY=rsa the server's half (an RSA-2048 signature) costs far more than the client's
# (ECDHE and a cheap RSA verification), so the loaders no longer saturate first and the
# handshakes per second become the server's own rate.
#
# Environment: ROUNDS (3), SECONDS_PER_RUN (10), LOADERS (2), TLS (1.3 | 1.2), KEY (ec | rsa),
# NGINX_PORT/LEVEE_PORT/LEVEE_ADMIN_PORT, SERVER_CPU/CLIENT_CPU, NICE, AUTOGROUP_NICE (unset;
# e.g. -10 as root: the script re-runs itself in its own session with that autogroup nice,
# since with the kernel's autogroup scheduling NICE alone does not rank it above processes of
# other sessions, such as builds), LEVEE_BIN, OUT_DIR.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_own_session "$@"

ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
LOADERS=${LOADERS:-2}
TLS=${TLS:-1.3}
KEY=${KEY:-ec}
case $KEY in
  ec) KEY_ARGS=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1); KEY_NAME="P-256"
      TLS12_SUITE=ECDHE-ECDSA-AES128-GCM-SHA256 ;;
  rsa) KEY_ARGS=(-newkey rsa:2048); KEY_NAME="RSA-2048"; TLS12_SUITE=ECDHE-RSA-AES128-GCM-SHA256 ;;
  *) bench_die "KEY must be ec or rsa" ;;
esac
OUT_DIR=${OUT_DIR:-}

case $TLS in
  1.3) CLIENT_SUITE=(-tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256)
       NGINX_PROTOCOLS="TLSv1.3"; LEVEE_VERSION="1.3"; SUITE_NAME=TLS_AES_128_GCM_SHA256 ;;
  1.2) CLIENT_SUITE=(-tls1_2 -cipher "$TLS12_SUITE")
       NGINX_PROTOCOLS="TLSv1.2"; LEVEE_VERSION="1.2"; SUITE_NAME=$TLS12_SUITE ;;
  *) bench_die "TLS must be 1.3 or 1.2" ;;
esac

for tool in openssl taskset ss "$NGINX_BIN"; do
  command -v "$tool" >/dev/null || bench_die "$tool not found"
done
[[ -x $LEVEE_BIN ]] || bench_die "build levee first: cmake --build --preset release --target levee"

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_setup_dir
[[ -n $OUT_DIR ]] && mkdir -p "$OUT_DIR"
RAW_DIR=${OUT_DIR:-$BENCH_DIR}
bench_check_ports "$NGINX_PORT" "$LEVEE_PORT" "$LEVEE_ADMIN_PORT"

# One throwaway certificate for both servers (P-256 like most public sites' ECDSA ones, or
# RSA-2048 with KEY=rsa).
CERT=$BENCH_DIR/cert.pem
KEY=$BENCH_DIR/key.pem
openssl req -x509 "${KEY_ARGS[@]}" -nodes -days 2 \
  -subj /CN=localhost -keyout "$KEY" -out "$CERT" 2>/dev/null
chmod 644 "$KEY"  # nginx's worker may run unprivileged

NGINX_DIR=$BENCH_DIR/nginx
mkdir -p "$NGINX_DIR/logs" "$NGINX_DIR/tmp"
chmod -R 755 "$NGINX_DIR"
cat >"$NGINX_DIR/nginx.conf" <<CONF
worker_processes 1;
error_log $NGINX_DIR/logs/error.log warn;
pid $NGINX_DIR/logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
$(nginx_temp_paths "$NGINX_DIR")
    # As levee's context: a built-in session cache and tickets (s_time -new resumes neither,
    # but both servers then issue the same TLS 1.3 tickets after each handshake).
    ssl_session_cache builtin:20480;
    ssl_session_tickets on;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        ssl_certificate $CERT;
        ssl_certificate_key $KEY;
        ssl_protocols $NGINX_PROTOCOLS;
        ssl_ciphers $TLS12_SUITE;
        ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
        location / { return 200 "ok\n"; }
    }
}
CONF

LEVEE_CONF=$BENCH_DIR/levee.toml
cat >"$LEVEE_CONF" <<CONF
[server]
listen = "127.0.0.1:$LEVEE_PORT"
admin_listen = "127.0.0.1:$LEVEE_ADMIN_PORT"
workers = 1
max_connections = 20000
tls_cert_file = "$CERT"
tls_key_file = "$KEY"
tls_ciphers = "$TLS12_SUITE"
tls_min_version = "$LEVEE_VERSION"

[log]
level = "warn"

[upstreams.none]
address = "127.0.0.1:9"

[[routes]]
name = "none"
path_prefix = "/"
upstream = "none"
CONF

start_tls_nginx() {
  "${PRIO[@]}" taskset -c "$SERVER_CPU" "$NGINX_BIN" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" \
    -g 'daemon off;' >"$BENCH_DIR/nginx.stderr" 2>&1 &
  NGINX_PID=$!
  BENCH_PIDS+=("$NGINX_PID")
  for _ in $(seq 100); do
    openssl s_client -connect "127.0.0.1:$NGINX_PORT" </dev/null >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cat "$BENCH_DIR/nginx.stderr" "$NGINX_DIR/logs/error.log" >&2
  bench_die "nginx did not start"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)

# "handshakes/s<TAB>server CPU us per handshake": LOADERS parallel `s_time -new` for
# SECONDS_PER_RUN; $1 port, $2 label, $3 the server's pid whose CPU time is counted.
measure() {
  local port=$1 label=$2 server_pid=$3 i total=0 n ticks_before ticks_after
  local pids=()
  ticks_before=$(cpu_ticks "$server_pid")
  for i in $(seq "$LOADERS"); do
    "${PRIO[@]}" taskset -c "$CLIENT_CPU" openssl s_time -connect "127.0.0.1:$port" -new \
      "${CLIENT_SUITE[@]}" -time "$SECONDS_PER_RUN" >"$RAW_DIR/$label.loader$i.txt" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  ticks_after=$(cpu_ticks "$server_pid")
  for i in $(seq "$LOADERS"); do
    # "12345 connections in 10.01s; 1233.33 connections/user sec, bytes read 0"
    n=$(awk '/connections in/ && !done {print $1; done = 1}' "$RAW_DIR/$label.loader$i.txt")
    [[ -n $n ]] || { cat "$RAW_DIR/$label.loader$i.txt" >&2; bench_die "s_time printed no count"; }
    total=$((total + n))
  done
  awk -v t="$total" -v s="$SECONDS_PER_RUN" -v c=$((ticks_after - ticks_before)) -v hz="$CLK_TCK" \
    'BEGIN {printf "%.0f\t%.0f", t / s, c / hz * 1e6 / t}'
}

bench_log "machine: $(nproc) cores, load $(load_average); $(openssl version); nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*\///')"
bench_log "$(cat /proc/self/autogroup 2>/dev/null || echo 'no autogroup'), nice $NICE"
bench_log "TLS $TLS, suite $SUITE_NAME, $KEY_NAME certificate, $LOADERS loaders x ${SECONDS_PER_RUN}s, server on cpu $SERVER_CPU"
RESULTS=$BENCH_DIR/results.tsv
printf 'round\tserver\thandshakes_per_s\tserver_cpu_us_per_handshake\n' | tee "$RESULTS"
for round in $(seq "$ROUNDS"); do
  order=(nginx levee)
  (( round % 2 == 0 )) && order=(levee nginx)
  for server in "${order[@]}"; do
    if [[ $server == nginx ]]; then
      start_tls_nginx
      rate=$(measure "$NGINX_PORT" "round$round.nginx" "$(nginx_worker_pid)")
      stop_nginx
    else
      start_levee
      rate=$(measure "$LEVEE_PORT" "round$round.levee" "$LEVEE_PID")
      failures=$(curl -s "http://127.0.0.1:$LEVEE_ADMIN_PORT/metrics" |
        awk '/^levee_tls_handshake_failures_total/ {s += $2} END {print s + 0}')
      # s_time closes as soon as its side is done, often before levee has read the client's
      # Finished: levee counts those as reason="closed" (nginx logs them at info level).
      bench_log "levee: $failures handshakes ended by the client before they completed"
      stop_levee
    fi
    printf '%s\t%s\t%s\n' "$round" "$server" "$rate" | tee -a "$RESULTS"
  done
done

# Medians (stderr, so that stdout stays one TSV) and the implied rate of a saturated core.
median() {  # $1 server, $2 column
  awk -F'\t' -v s="$1" -v c="$2" 'NR > 1 && $2 == s {print $c}' "$RESULTS" | sort -g |
    awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
L_RATE=$(median levee 3); N_RATE=$(median nginx 3); L_US=$(median levee 4); N_US=$(median nginx 4)
bench_log "medians of $ROUNDS: levee $L_RATE handshakes/s, $L_US us CPU each; nginx $N_RATE handshakes/s, $N_US us CPU each"
bench_log "$(awk -v lr="$L_RATE" -v nr="$N_RATE" -v lu="$L_US" -v nu="$N_US" 'BEGIN {
  printf "levee/nginx: handshakes/s %.3f, CPU per handshake %.3f (a saturated core: %.0f vs %.0f handshakes/s, ratio %.3f)",
    lr / nr, lu / nu, 1e6 / lu, 1e6 / nu, nu / lu }')"
[[ -n $OUT_DIR ]] && cp "$RESULTS" "$OUT_DIR/results.tsv"
