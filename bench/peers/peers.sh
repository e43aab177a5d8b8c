# shellcheck shell=bash
# The systems bench/side_by_side.sh compares, each a reverse proxy on 127.0.0.1 in front of
# the same levee-upstream (sourced, not executed; sources bench/lib.sh if it is not yet):
#
#   levee    pass mode, 1 worker (bench/lib.sh's config plus a /process route)
#   levee-collapse  the same with the /api/ route in mode = "collapse" (inflight)
#   nginx    proxy_cache + proxy_cache_lock: caches 200s for PEER_CACHE_TTL, coalesces misses
#   varnish  malloc storage, its waiting list coalesces misses, same TTL, no grace
#   haproxy  pass-through, no cache
#
# nginx and varnish key their caches on the Authorization header as well as the URL, so users
# never share a response (see the comments in nginx-cache.conf.in and varnish.vcl.in).
#
#   write_peer_conf NAME; start_peer NAME; ... "$(peer_port NAME)" ...; stop_peer NAME
#
# Every server runs on SERVER_CPU under PRIO, is recorded in BENCH_PIDS (so bench_cleanup
# stops it) and is ready once it answers an HTTP request (bounded wait). The configs, logs
# and caches live in BENCH_DIR: call peers_setup_dir (tmpfs) or bench_setup_dir first.
#
# Environment: HAPROXY_PORT (19704), VARNISH_PORT (19705), plus bench/lib.sh's UPSTREAM_PORT,
# NGINX_PORT, LEVEE_PORT and LEVEE_ADMIN_PORT; PEER_CACHE_TTL (1s), VARNISH_TTL (as
# PEER_CACHE_TTL), NGINX_CACHE_LOCK_TIMEOUT (5s), VARNISH_THREADS_MIN (50),
# VARNISH_THREADS_MAX (1000), VARNISH_MEMORY (64m), HAPROXY_MAXCONN (from ulimit -Hn, at most
# 20000), PEER_START_TIMEOUT (20 s), VARNISHD_BIN, HAPROXY_BIN, PEERS_TMPDIR (/dev/shm).

if ! declare -F bench_stop_pid >/dev/null; then
  # shellcheck source=SCRIPTDIR/../lib.sh
  source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
fi

PEERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PEER_NAMES=(levee levee-collapse nginx varnish haproxy)

VARNISHD_BIN=${VARNISHD_BIN:-/usr/sbin/varnishd}
HAPROXY_BIN=${HAPROXY_BIN:-/usr/sbin/haproxy}

HAPROXY_PORT=${HAPROXY_PORT:-19704}
VARNISH_PORT=${VARNISH_PORT:-19705}

# nginx's and varnish's cache lifetime, so that their upstream savings compare. Whole
# seconds ("1s", "2s"): nginx has no finer TTL. nginx keeps an entry until its TTL has passed
# on its whole-second clock, so "1s" lives 1 to 2 s (1.5 s on average, measured), varnish's
# exactly 1 s; VARNISH_TTL=1.5s gives varnish the same average lifetime instead.
PEER_CACHE_TTL=${PEER_CACHE_TTL:-1s}
VARNISH_TTL=${VARNISH_TTL:-$PEER_CACHE_TTL}
NGINX_CACHE_LOCK_TIMEOUT=${NGINX_CACHE_LOCK_TIMEOUT:-5s}
# Varnish's defaults (2 pools of 100..5000 threads) are sized for big machines; one pool on
# this 2-core one. A request on the waiting list holds no thread, so the maximum only bounds
# requests in progress at once.
VARNISH_THREADS_MIN=${VARNISH_THREADS_MIN:-50}
VARNISH_THREADS_MAX=${VARNISH_THREADS_MAX:-1000}
VARNISH_MEMORY=${VARNISH_MEMORY:-64m}
# HAProxy holds two descriptors per proxied connection and refuses to start if it cannot
# raise its limit that far: as many as the hard limit allows (with some to spare), at most
# levee's max_connections.
peers_haproxy_maxconn() {
  local hard
  hard=$(ulimit -Hn)
  if [[ $hard == unlimited ]] || ((hard > 40200)); then
    echo 20000
  else
    echo $(((hard - 200) / 2))
  fi
}
HAPROXY_MAXCONN=${HAPROXY_MAXCONN:-$(peers_haproxy_maxconn)}
# varnishd compiles its VCL with cc before it listens: give starts a little more than lib.sh.
PEER_START_TIMEOUT=${PEER_START_TIMEOUT:-20}

# bench_setup_dir, on tmpfs (/dev/shm, or PEERS_TMPDIR) unless TMPDIR says otherwise. nginx's
# cache is files, and its single worker creates and unlinks them with blocking calls: with
# the cache on this machine's disk (a build running alongside), hot-keys-users measured p50
# 1128 ms and 930 timeouts, on tmpfs 6 ms and none (microcaches are kept on tmpfs in
# production for this reason). Varnish's working directory (shared-memory log, compiled
# VCL) belongs on tmpfs too; it dlopens the VCL from there, hence no noexec mount.
peers_setup_dir() {
  local shm=${PEERS_TMPDIR:-/dev/shm}
  if [[ -z ${TMPDIR:-} && -d $shm && -w $shm ]] &&
    ! findmnt -no OPTIONS --target "$shm" 2>/dev/null | grep -qw noexec; then
    TMPDIR=$shm bench_setup_dir
  else
    bench_setup_dir
  fi
}

peer_known() {
  local n
  for n in "${PEER_NAMES[@]}"; do [[ $n == "$1" ]] && return 0; done
  return 1
}

peer_port() {
  case $1 in
    levee | levee-collapse) echo "$LEVEE_PORT" ;;
    nginx) echo "$NGINX_PORT" ;;
    varnish) echo "$VARNISH_PORT" ;;
    haproxy) echo "$HAPROXY_PORT" ;;
    *) bench_die "unknown system '$1' (known: ${PEER_NAMES[*]})" ;;
  esac
}

# Every port a peer listens on (levee also has its admin listener).
peer_ports() {
  peer_port "$1"
  if [[ $1 == levee || $1 == levee-collapse ]]; then echo "$LEVEE_ADMIN_PORT"; fi
}

# Copy template $1 to $2, replacing each @NAME@ (upper-case) with the value of the shell
# variable NAME; a placeholder without a value is an error rather than an empty string.
peers_fill_template() {
  local in=$1 out=$2 name value script=()
  for name in $(grep -o '@[A-Z][A-Z0-9_]*@' "$in" | tr -d @ | sort -u); do
    [[ -n ${!name:-} ]] || bench_die "$in: no value for @$name@"
    # Escape what sed's replacement treats specially (the | delimiter, &, \).
    value=$(printf '%s' "${!name}" | sed 's/[|&\\]/\\&/g')
    script+=(-e "s|@$name@|$value|g")
  done
  sed "${script[@]}" "$in" >"$out"
}

# Wait up to $3 seconds for process $1 to answer HTTP on 127.0.0.1:$2 (any status: the
# listener is up and the request went through); give up at once if the process exits. On
# failure show the files $5.. and die.
peers_wait_ready() {
  local pid=$1 port=$2 secs=$3 name=$4 _
  shift 4
  for _ in $(seq $((secs * 10))); do
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$@" >&2 2>/dev/null || true
      bench_die "$name exited during start-up"
    fi
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/api/bench" && return 0
    sleep 0.1
  done
  cat "$@" >&2 2>/dev/null || true
  bench_die "$name did not answer on 127.0.0.1:$port within ${secs}s"
}

# levee: bench/lib.sh's pass-mode config (route /api/) plus a pass route for POST /process.
# Routes match in file order, so appending one more [[routes]] table is enough.
write_levee_peer_conf() {
  write_levee_conf
  cat >>"$LEVEE_CONF" <<EOF

[[routes]]
name = "process"
path_prefix = "/process"
upstream = "mock"
mode = "pass"
EOF
}

write_nginx_cache_conf() {
  local DIR=$BENCH_DIR/nginx-cache
  mkdir -p "$DIR/logs" "$DIR/tmp"
  # The worker runs as nobody when we are root: it must reach the prefix (the master creates
  # the cache directory itself and hands it to the worker's user).
  chmod -R 755 "$DIR"
  local NGINX_WORKER_CONNECTIONS=${NGINX_WORKER_CONNECTIONS:-4096}
  # shellcheck disable=SC2034  # read by peers_fill_template through ${!name}
  local NGINX_RLIMIT=$((NGINX_WORKER_CONNECTIONS + 1000))
  peers_fill_template "$PEERS_DIR/nginx-cache.conf.in" "$DIR/nginx.conf"
  # start_nginx/stop_nginx (bench/lib.sh) run whatever these two name.
  NGINX_CONF=$DIR/nginx.conf
  NGINX_PREFIX=$DIR
}

# lib.sh's start_levee waits for the "levee ready" line; answering HTTP is the same test
# every other peer passes.
start_levee_peer() {
  start_levee
  peers_wait_ready "$LEVEE_PID" "$LEVEE_PORT" "$PEER_START_TIMEOUT" levee \
    "$BENCH_DIR/levee.out" "$BENCH_DIR/levee.stderr"
}

# Started fresh means an empty cache: nginx would otherwise serve a previous run's files that
# are still within their TTL (it opens a cache file it finds on disk even before its cache
# loader has indexed the directory).
start_nginx_cache() {
  rm -rf "$NGINX_PREFIX/cache"
  start_nginx
}

write_varnish_conf() {
  VARNISH_DIR=$BENCH_DIR/varnish
  mkdir -p "$VARNISH_DIR"
  VARNISH_VCL=$BENCH_DIR/varnish.vcl
  peers_fill_template "$PEERS_DIR/varnish.vcl.in" "$VARNISH_VCL"
}

# -F: foreground, so the pid we hold is the manager's and SIGTERM stops manager and child.
# -j none: no privilege separation. As root, varnishd's default jail ("unix") runs the
#   manager as user varnish and the worker as vcache (the Debian package's users) and chowns
#   the -n directory to them; that works here too, but -j none runs the same way as root and
#   as any other user, needs no such users (e.g. a varnishd from elsewhere in VARNISHD_BIN)
#   and leaves only files we own in BENCH_DIR. The jail changes privileges, not performance.
# -n: a private working directory (shared-memory log, compiled VCL) that bench_cleanup
#   removes, instead of /var/lib/varnish/HOSTNAME; varnishstat -n DIR reads its counters.
# -T none: no management CLI listener (by default one binds a random port on localhost;
#   nothing here uses it).
# timeout_idle: keep idle client connections as long as levee and nginx do (default 5 s).
start_varnish() {
  local log=$BENCH_DIR/varnish.log
  "${PRIO[@]}" taskset -c "$SERVER_CPU" "$VARNISHD_BIN" -F -j none -n "$VARNISH_DIR" -T none \
    -a "127.0.0.1:$VARNISH_PORT" -f "$VARNISH_VCL" -s "malloc,$VARNISH_MEMORY" \
    -p thread_pools=1 -p "thread_pool_min=$VARNISH_THREADS_MIN" \
    -p "thread_pool_max=$VARNISH_THREADS_MAX" -p timeout_idle=600 >"$log" 2>&1 &
  VARNISH_PID=$!
  BENCH_PIDS+=("$VARNISH_PID")
  peers_wait_ready "$VARNISH_PID" "$VARNISH_PORT" "$PEER_START_TIMEOUT" varnish "$log"
}

stop_varnish() { bench_stop_pid "$VARNISH_PID"; }

write_haproxy_conf() {
  HAPROXY_CONF=$BENCH_DIR/haproxy.cfg
  peers_fill_template "$PEERS_DIR/haproxy.cfg.in" "$HAPROXY_CONF"
}

# -db: foreground, no daemon, so SIGTERM on the pid we hold stops it.
start_haproxy() {
  local log=$BENCH_DIR/haproxy.log
  "${PRIO[@]}" taskset -c "$SERVER_CPU" "$HAPROXY_BIN" -db -f "$HAPROXY_CONF" >"$log" 2>&1 &
  HAPROXY_PID=$!
  BENCH_PIDS+=("$HAPROXY_PID")
  peers_wait_ready "$HAPROXY_PID" "$HAPROXY_PORT" "$PEER_START_TIMEOUT" haproxy "$log"
}

stop_haproxy() { bench_stop_pid "$HAPROXY_PID"; }

# Binaries a peer needs; die early (before anything starts) if one is missing.
PEERS_INSTALL_HINT="scripts/install-deps.sh --bench"
peer_check_tools() {
  case $1 in
    levee | levee-collapse) [[ -x $LEVEE_BIN ]] || bench_die "$LEVEE_BIN not built" ;;
    nginx) [[ -x $NGINX_BIN ]] || bench_die "$NGINX_BIN not found (apt-get install nginx)" ;;
    varnish) [[ -x $VARNISHD_BIN ]] || bench_die "$VARNISHD_BIN not found ($PEERS_INSTALL_HINT)" ;;
    haproxy) [[ -x $HAPROXY_BIN ]] || bench_die "$HAPROXY_BIN not found ($PEERS_INSTALL_HINT)" ;;
    *) bench_die "unknown system '$1' (known: ${PEER_NAMES[*]})" ;;
  esac
}

write_peer_conf() {
  case $1 in
    levee | levee-collapse) write_levee_peer_conf ;;
    nginx) write_nginx_cache_conf ;;
    varnish) write_varnish_conf ;;
    haproxy) write_haproxy_conf ;;
    *) bench_die "unknown system '$1' (known: ${PEER_NAMES[*]})" ;;
  esac
}

start_peer() {
  case $1 in
    levee) start_levee_peer ;;
    # The same config with the /api/ route switched by levee's own environment override.
    levee-collapse)
      export LEVEE_ROUTES__api__MODE=collapse
      start_levee_peer
      unset LEVEE_ROUTES__api__MODE
      ;;
    nginx) start_nginx_cache ;;
    varnish) start_varnish ;;
    haproxy) start_haproxy ;;
    *) bench_die "unknown system '$1' (known: ${PEER_NAMES[*]})" ;;
  esac
}

# Stop the peer, then wait (bounded) until its port is free again, so that the next start
# on it cannot fail to bind.
stop_peer() {
  case $1 in
    levee | levee-collapse) stop_levee ;;
    nginx) stop_nginx ;;
    varnish) stop_varnish ;;
    haproxy) stop_haproxy ;;
    *) bench_die "unknown system '$1' (known: ${PEER_NAMES[*]})" ;;
  esac
  local port _
  port=$(peer_port "$1")
  for _ in $(seq 50); do
    bench_port_free "$port" && return 0
    sleep 0.1
  done
  bench_log "warning: 127.0.0.1:$port still in use 5 s after stopping $1"
}
