#!/usr/bin/env bash
# Installs the Debian packages levee builds, tests and benchmarks with. Idempotent: a package
# that is already installed is not touched, and apt is not called at all when nothing is
# missing, so `make test` on a provisioned machine costs nothing here.
#
#   scripts/install-deps.sh           # what builds and tests need (make deps, make test)
#   scripts/install-deps.sh --bench   # ... plus the peers and plotting of bench/side_by_side.sh
#   scripts/install-deps.sh --deb     # ... plus what `make deb` and `make deb-check` need
set -euo pipefail

bench=0
deb=0
for arg in "$@"; do
  case $arg in
    --bench) bench=1 ;;
    --deb) deb=1 ;;
    *) echo "usage: $0 [--bench] [--deb]" >&2; exit 2 ;;
  esac
done

packages=(
  # toolchain (g++ 12 miscompiles some coroutine code; see STYLE.md)
  cmake make ninja-build pkg-config clang-19 lld-19 libclang-rt-19-dev clang-tidy-19 clang-format-19
  llvm-19  # llvm-symbolizer, so sanitizer reports name functions and lines
  # libraries
  libboost1.81-all-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  libxxhash-dev libsimdjson-dev libgtest-dev libgmock-dev libbenchmark-dev libjemalloc-dev
  libhiredis-dev  # the response cache's shared Redis tier (issue 6)
  libonnx-dev libprotobuf-dev  # the learned flush policy's model files (issue 7)
  librdkafka-dev  # the Kafka flush-telemetry sink (issue 7)
  libnghttp2-dev libssl-dev  # HTTP/2 framing and TLS (issue 20)
  # test and benchmark peers
  prometheus nginx wrk curl procps util-linux redis-server
  redis-sentinel  # following a Redis primary through a Sentinel failover (issue 21)
  # HTTP/2 and gRPC peers nobody here wrote (issue 20): nghttp/h2load, nghttpd, a real gRPC
  # server and client in Python, openssl for throwaway test certificates
  nghttp2-client nghttp2-server python3-grpcio openssl
  # the admin listener's status page, loaded in a real browser by its test (issue 22)
  chromium
  # rl/ (issue 7): the flush-policy simulator, PPO training and ONNX export, and their tests,
  # on Debian's /usr/bin/python3 (pip has no registry here). python3-munkres: see below.
  python3-torch python3-onnx python3-numpy python3-matplotlib python3-munkres
)
# Opt-in: only the hand-run side-by-side comparison needs these, so CI never pays for them.
# /usr/bin/python3 with Debian's matplotlib and numpy draws bench/plot.py's charts.
# python3-munkres is named so that apt satisfies python3-fonttools' "python3-scipy |
# python3-munkres" with it: depending on the order of the other packages the resolver may
# otherwise pick scipy, whose pythran pulls libboost1.74-dev, which conflicts with 1.81 above.
if [ "$bench" -eq 1 ]; then
  packages+=(varnish haproxy)
fi
# Opt-in too: the Debian package (make deb, make deb-check) builds with debhelper, is checked
# with lintian and systemd-analyze (from systemd), and installs into a scratch root with dpkg.
if [ "$deb" -eq 1 ]; then
  packages+=(debhelper dpkg-dev lintian systemd)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
# Package post-install scripts must not start system services (nginx on :80, prometheus,
# varnish on :6081, haproxy):
# levee's tests start their own instances on ephemeral ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" -eq 1 ]; then "${sudo_cmd[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
