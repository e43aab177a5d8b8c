#!/usr/bin/env bash
# Installs the Debian packages levee builds, tests and benchmarks with. Idempotent: a package
# that is already installed is not touched, and apt is not called at all when nothing is
# missing, so `make test` on a provisioned machine costs nothing here.
set -euo pipefail

packages=(
  # toolchain (g++ 12 miscompiles some coroutine code; see STYLE.md)
  cmake make ninja-build pkg-config clang-19 lld-19 libclang-rt-19-dev clang-tidy-19 clang-format-19
  llvm-19  # llvm-symbolizer, so sanitizer reports name functions and lines
  # libraries
  libboost1.81-all-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  libxxhash-dev libsimdjson-dev libgtest-dev libgmock-dev libbenchmark-dev libjemalloc-dev
  # test and benchmark peers
  prometheus nginx wrk curl procps util-linux
)

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
# Package post-install scripts must not start system services (nginx on :80, prometheus):
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
