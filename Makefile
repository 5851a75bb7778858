# vitskip build. `make` builds the CLI; `make test` runs every test;
# `make test SAN=1` runs them under AddressSanitizer/UBSan; `make demo` runs a
# co-search on the bundled model (both install tools/packages.txt first when
# run as root); `make install PREFIX=dir` installs the CLI and its data files;
# `make fresh-check` runs demo and test on a fresh Debian 12 root.
# BUILD=dir keeps separate build trees (`make clean` removes $(BUILD));
# WERROR= builds with warnings left as warnings.
# Sanitizer builds, each in its own tree: SAN=1 AddressSanitizer and UBSan
# (build-san; `make SAN=1 test-c`); TSAN=1 ThreadSanitizer (build-tsan;
# `make TSAN=1 test-tsan`); FUZZ=1 clang with libFuzzer's coverage, ASan
# and UBSan (build-fuzz) for the targets tests/fuzz/*_fuzz.c, which
# `make FUZZ=1 fuzz-targets` builds and tools/fuzz.sh runs.
CC ?= cc
SAN ?= 0
TSAN ?= 0
FUZZ ?= 0
ifeq ($(FUZZ),1)
CC = clang
BUILD ?= build-fuzz
SANFLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
           -fno-omit-frame-pointer
# clang ignores gcc's optimize("O3") on host/vk_fast.c's kernels
CFLAGS += -Wno-unknown-attributes
else ifeq ($(TSAN),1)
BUILD ?= build-tsan
SANFLAGS = -fsanitize=thread
else ifeq ($(SAN),1)
BUILD ?= build-san
# gcc's undefined leaves out float-cast-overflow (clang's includes it)
SANFLAGS = -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all \
           -fno-omit-frame-pointer
else
BUILD ?= build
SANFLAGS =
endif
OPT ?= -O2 -g
WERROR ?= -Werror
WARN = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wpointer-arith $(WERROR)
# every library that ships a .pc, through pkg-config (deferred: `make deps`
# installs pkg-config itself before anything is compiled)
PKGS = libcjson sqlite3 libcurl libmicrohttpd libpng libjpeg zlib
CPPFLAGS += -D_GNU_SOURCE -I. $(shell pkg-config --cflags $(PKGS))
CFLAGS += $(OPT) $(WARN) $(SANFLAGS) -fopenmp -pthread
LDLIBS = $(shell pkg-config --libs $(PKGS)) -ldl -lm
LDFLAGS += $(SANFLAGS) -fopenmp -pthread

LIB_SRC := kernels/vk_kernel.c $(wildcard host/vk_*.c boards/*.c search/*.c db/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
# the CLI: only the vitskip binary links it; tests link the library alone
CLI_SRC := $(wildcard host/cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# what the C tests share beyond the header-only harness (tests/vk_fixture.h)
TEST_LIB := $(BUILD)/tests/vk_fixture.o
TB_BIN := $(BUILD)/kernels/tb/vk_tb
SCRIPT_TESTS := $(wildcard tests/test_*.sh)

.PHONY: all test test-run demo demo-run bench bench-ref bench-search bench-mixed bench-farm clean deps \
        golden agent-aarch64 fuzz fuzz-targets install fresh-check test-c test-tsan
all: $(BUILD)/vitskip

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

# HLS directives are pragmas gcc does not know (test_cycles includes the
# kernel); the kernel's loop labels (kernels/vk_int.h too) name loops for
# the HLS reports, and some are never jumped to
$(BUILD)/kernels/%.o: CFLAGS += -Wno-unknown-pragmas -Wno-unused-label
$(BUILD)/tests/test_cycles.o: CFLAGS += -Wno-unknown-pragmas -Wno-unused-label
$(BUILD)/host/vk_fast.o $(BUILD)/host/vk_quant.o $(BUILD)/tests/test_quant.o: \
    CFLAGS += -Wno-unused-label

# objects, not the archive: the board registry refers to back-ends weakly,
# and a weak reference does not pull an object out of an archive
$(BUILD)/vitskip: $(CLI_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_LIB) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(TB_BIN): $(BUILD)/kernels/tb/vk_tb.o $(BUILD)/kernels/vk_kernel.o
	$(CC) $(LDFLAGS) -o $@ $^ -lm

# the packages first (installed as root, else the apt-get line to run), then
# the build: a second make, so that -j never compiles before they are there
test: deps
	@$(MAKE) --no-print-directory test-run

test-run: $(BUILD)/vitskip $(TEST_BIN) $(TB_BIN) $(BUILD)/tools/mk_golden
	@BUILD=$(BUILD) VITSKIP=$(BUILD)/vitskip sh tests/run.sh $(TB_BIN) $(TEST_BIN) $(SCRIPT_TESTS)

# The C tests and the kernel testbench alone: .ci/run runs them all under
# SAN=1 (the script tests drive the CLI and are run by `make test`).
test-c: $(TEST_BIN) $(TB_BIN)
	@BUILD=$(BUILD) sh tests/run.sh $(TB_BIN) $(TEST_BIN)

# Under TSAN=1: the tests whose code runs threads (the agent's and the
# remote board's servers and clients, the cpu and sim boards' workers, the
# power sampler) and the threaded search (tests/test_farm.sh: one worker
# thread per board). OpenMP stays at one thread: libgomp is not built with
# TSan, so its barriers are invisible to it (races reported in every
# parallel region); the threads above are plain pthreads and stay checked.
# TSan runs about 10 times slower: test_farm.sh's time limit is scaled.
TSAN_TESTS := $(BUILD)/tests/test_agent $(BUILD)/tests/test_remote \
              $(BUILD)/tests/test_board_cpu $(BUILD)/tests/test_board_sim \
              $(BUILD)/tests/test_hwmon
test-tsan: $(BUILD)/vitskip $(TSAN_TESTS)
	@OMP_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1 VK_TEST_TIME_SCALE=4 \
	    BUILD=$(BUILD) VITSKIP=$(BUILD)/vitskip \
	    sh tests/run.sh $(TSAN_TESTS) tests/test_farm.sh

# Regenerates the kernel testbench's golden vectors kept in the tree (inputs
# from seeded random models, expected outputs from the independent Python
# reference); `make test` makes the DeiT-S-shaped set in the build tree.
golden: $(BUILD)/tools/mk_golden
	for s in tiny tiles; do mkdir -p kernels/tb/golden/$$s && \
	    $(BUILD)/tools/mk_golden $$s kernels/tb/golden/$$s && \
	    /usr/bin/python3 tools/golden_ref.py kernels/tb/golden/$$s || exit 1; done

$(BUILD)/tools/mk_golden: $(BUILD)/tools/mk_golden.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# the float32 reference's speed (latency, calibration throughput)
bench-ref: $(BUILD)/tools/bench_ref
	$(BUILD)/tools/bench_ref

$(BUILD)/tools/bench_ref: $(BUILD)/tools/bench_ref.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# static aarch64 agent for the ZCU102's ARM side (tools/cross_aarch64.sh)
agent-aarch64:
	BUILD=$(BUILD) sh tools/cross_aarch64.sh

# the libFuzzer targets (FUZZ=1), and a bounded run of each (tools/fuzz.sh)
FUZZ_SRC := $(wildcard tests/fuzz/*_fuzz.c)
FUZZ_BIN := $(FUZZ_SRC:%.c=$(BUILD)/%)
fuzz-targets: $(FUZZ_BIN)

$(BUILD)/tests/fuzz/%_fuzz: $(BUILD)/tests/fuzz/%_fuzz.o $(LIB_OBJ)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz:
	sh tools/fuzz.sh

deps:
	sh tools/install-deps.sh

# native int8 path vs PyTorch on the CPU (needs VK_DEPS_EXTRA=bench deps)
bench: $(BUILD)/vitskip
	sh tools/bench.sh $(BUILD)/vitskip

# vitskip's strategies and Optuna's samplers against the demo model's true front
bench-search: $(BUILD)/vitskip
	sh tools/search_bench.sh $(BUILD)/vitskip

# the search on the mixed-mode space, against the union of every run's front
bench-mixed: $(BUILD)/vitskip
	sh tools/mixed_bench.sh $(BUILD)/vitskip

# search throughput with 1 vs 4 loopback agents (measured)
bench-farm: $(BUILD)/vitskip
	sh tools/farm_bench.sh $(BUILD)/vitskip

demo: deps
	@$(MAKE) --no-print-directory demo-run

demo-run: $(BUILD)/vitskip
	sh tools/demo.sh $(BUILD)/vitskip

# the CLI and the data files it looks up next to itself (host/vk_datafile.h):
# PREFIX/bin/vitskip, PREFIX/share/vitskip/{boards,models/demo}; relocatable
PREFIX ?= /usr/local
DEMO_FILES := $(wildcard models/demo/*)
install: $(BUILD)/vitskip
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/vitskip/boards \
	    $(DESTDIR)$(PREFIX)/share/vitskip/models/demo $(DESTDIR)$(PREFIX)/share/doc/vitskip
	install -m 755 $(BUILD)/vitskip $(DESTDIR)$(PREFIX)/bin/vitskip
	install -m 644 boards/zcu102.json $(DESTDIR)$(PREFIX)/share/vitskip/boards/
	install -m 644 $(DEMO_FILES) $(DESTDIR)$(PREFIX)/share/vitskip/models/demo/
	install -m 644 README.md $(DESTDIR)$(PREFIX)/share/doc/vitskip/

# the README's quickstart in a minimal Debian 12 root (debootstrap; root only)
fresh-check:
	BUILD=$(BUILD) sh tools/fresh_check.sh

clean:
	@case "$(BUILD)" in ""|.|./|/|..|../*) echo "make clean: BUILD=$(BUILD) is not a build tree" >&2; exit 1;; esac
	rm -rf $(BUILD)

# (not in make fresh-check's Debian root, whose /etc has *.d folders)
-include $(shell find $(BUILD) -path $(BUILD)/fresh -prune -o -name '*.d' -type f -print 2>/dev/null)
