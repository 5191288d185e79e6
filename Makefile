# SPDX-License-Identifier: MIT
# Thin front for the Meson build. Every target installs the Debian packages it
# needs first (scripts/deps.sh; needs root the first time).
BUILD  ?= build
ASAN   ?= build-asan
PREFIX ?= /usr/local
NINJA  ?= ninja

.PHONY: all deps check demo bench fuzz valgrind soak install uninstall clean

all: $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

$(BUILD)/build.ninja:
	@scripts/deps.sh build
	meson setup $(BUILD) --prefix=$(PREFIX)

deps:
	scripts/deps.sh check

# Unit, header and namespace tests in a normal build and under ASan+UBSan,
# then ThreadSanitizer and the libFuzzer smoke run (scripts/check.sh).
# The last line printed is "N passed, M failed, K skipped".
check:
	@scripts/deps.sh check
	@BUILD=$(BUILD) ASAN=$(ASAN) scripts/check.sh

demo: all
	@scripts/deps.sh demo
	@BUILD=$(BUILD) scripts/demo.sh

bench: all
	@scripts/deps.sh bench
	@scripts/deps.sh demo # ping, used for the latency column
	@BUILD=$(BUILD) scripts/bench.sh $(BENCH_ARGS)

# libFuzzer over each target's corpus, FUZZ_TIME seconds each (clang).
# make check runs the same fuzzers for FUZZ_SMOKE_TIME (3) seconds each.
fuzz:
	@scripts/fuzz.sh $(FUZZ_ARGS)

# Both tunnel ends under valgrind memcheck (IO = plain); also part of check.
valgrind: all
	@scripts/deps.sh check
	@BUILD=$(BUILD) scripts/valgrind.sh $(VALGRIND_ARGS)

# SOAK_SECONDS (600) of bounded iperf3 + ping through the tunnel; RSS, fds,
# threads and counters sampled every SOAK_INTERVAL (60) s. Not in check.
soak: all
	@scripts/deps.sh demo
	@BUILD=$(BUILD) scripts/soak.sh

install: $(BUILD)/build.ninja
	meson configure $(BUILD) --prefix=$(PREFIX)
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN) build-fuzz build-tsan
