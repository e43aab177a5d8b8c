# The two commands the README starts with are `make run` and `make test`; both install what
# is missing first. Everything else here is for developers.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
FORMAT ?= clang-format-19

.PHONY: all deps build run test train check check-asan check-tsan check-headers fuzz format format-check lint clean deb deb-check

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

run: build
	@bash scripts/run.sh

test: build
	@ctest --preset release -j $(JOBS)

check-headers: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target levee_check_headers

check-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS)

check-tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS)
	@ctest --preset tsan -j $(JOBS)

fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@bash scripts/run-fuzzers.sh build-fuzz/bin

# Sanitizer builds, every header on its own, and a short run of each fuzzer.
check: check-headers check-asan check-tsan fuzz

format:
	@git ls-files '*.cpp' '*.hpp' | xargs $(FORMAT) -i

format-check:
	@git ls-files '*.cpp' '*.hpp' | xargs $(FORMAT) --dry-run --Werror

lint: build
	@git ls-files 'src/*.cpp' | xargs clang-tidy-19 -p build --quiet

clean:
	@rm -rf build build-debug build-asan build-tsan build-fuzz build-deb

# The Debian package (README "Installing the Debian package"): build-deb/levee_VERSION_ARCH.deb
# with /usr/bin/levee, /etc/levee/levee.toml and a hardened levee.service. deb-check runs
# systemd-analyze verify, lintian and a dpkg install, purge and reinstall in a scratch root.
deb:
	@bash scripts/install-deps.sh --deb
	@JOBS=$(JOBS) bash scripts/build-deb.sh

deb-check: deb
	@bash scripts/check-deb.sh

# The learned flush policy (rl/README.md): trains with PPO in the simulator, exports
# models/flush_policy.onnx, regenerates tests/data/policy/ and the offline table and charts
# (docs/policies_offline.md, docs/charts/policies-*.png). Deterministic for a given seed, CPU only.
#   make train TELEMETRY=flushes.jsonl   also trains on the arrival traces levee recorded
#   make train MODEL=/tmp/new.onnx TRAIN_ARGS="--docs /tmp/d --fixtures /tmp/f"
TELEMETRY ?=
MODEL ?= models/flush_policy.onnx
TRAIN_ARGS ?=
train: deps
	@PYTHONPATH=rl /usr/bin/python3 -m levee_rl.train --seed 7 --model $(MODEL) \
	  $(if $(TELEMETRY),--telemetry $(TELEMETRY)) $(TRAIN_ARGS)
