# RayVault build. GNU make, non-recursive. Every program lands in $(BUILD)/bin.
#   make            build everything into build/
#   make SANITIZE=1 build into build-asan/ with ASan + UBSan
#   make test       bootstrap, build, run unit, conformance and integration tests
#   make demo       run the sample job on a fresh embedded store
#   make fuzz       build the libFuzzer targets (clang) into build-fuzz/ and
#                   run each for FUZZ_SECONDS (tests/fuzz/README)

PKGS_BASE  := libzmq libcjson libbsd-overlay libmd
PKGS_CURL  := libcurl
PKGS_SQL   := sqlite3

CC      ?= cc
CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O2 -Wall -Wextra -Werror -Wshadow \
	   -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla -MMD -MP \
	   -I. $(shell pkg-config --cflags $(PKGS_BASE) $(PKGS_CURL) $(PKGS_SQL) 2>/dev/null)
LDFLAGS := -Wl,--as-needed
BUILD   := build
ifeq ($(SANITIZE),1)
BUILD   := build-asan
# float-cast-overflow: gcc leaves it out of "undefined" (clang has it).
CFLAGS  := $(filter-out -O2,$(CFLAGS)) -O1 -fsanitize=address,undefined \
	   -fsanitize=float-cast-overflow \
	   -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined -fsanitize=float-cast-overflow
endif
# FUZZ=1: clang with ASan + UBSan and libFuzzer's coverage into
# build-fuzz/ (make fuzz sets it; plain make never needs clang).
ifeq ($(FUZZ),1)
BUILD   := build-fuzz
CC      := clang
CFLAGS  := $(filter-out -O2,$(CFLAGS)) -O1 \
	   -fsanitize=fuzzer-no-link,address,undefined \
	   -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=fuzzer,address,undefined
endif
ifeq ($(RV_TESTING),0)
else
CFLAGS  += -DRV_TESTING
endif

LIBS_BASE := $(shell pkg-config --libs $(PKGS_BASE) 2>/dev/null) -lpthread -lm
LIBS_CURL := $(shell pkg-config --libs $(PKGS_CURL) 2>/dev/null)
LIBS_SQL  := $(shell pkg-config --libs $(PKGS_SQL) 2>/dev/null)
# GNU libmicrohttpd: rvctl only (rvctl dashboard).
PKGS_MHD  := libmicrohttpd
LIBS_MHD  := $(shell pkg-config --libs $(PKGS_MHD) 2>/dev/null)
$(BUILD)/obj/ctl/%.o: CFLAGS += $(shell pkg-config --cflags $(PKGS_MHD) 2>/dev/null)

WORKER_KINDS := evidence voice render probe notify

# Libraries, lowest first: common (core, media, telegram; no store), the
# store with its backends, the wire (ipc), the child skeleton, and one
# archive per child program holding everything in workers/<kind>/ but its
# main file workers/<kind>/<kind>.c.
COMMON_SRC := $(wildcard common/core/*.c common/media/*.c common/telegram/*.c)
STORE_SRC  := $(wildcard common/store/*.c)
IPC_SRC    := $(wildcard ipc/*.c)
SKEL_SRC   := $(wildcard workers/skeleton/*.c)
SUP_SRC    := $(wildcard supervisor/*.c)
CTL_SRC    := $(wildcard ctl/*.c)
kind_src    = $(filter-out workers/$(1)/$(1).c,$(wildcard workers/$(1)/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBCOMMON := $(BUILD)/lib/libcommon.a
LIBSTORE  := $(BUILD)/lib/libstore.a
LIBIPC    := $(BUILD)/lib/libipc.a
LIBSKEL   := $(BUILD)/lib/libskeleton.a
LIBKINDS  := $(patsubst %,$(BUILD)/lib/librvw-%.a,$(WORKER_KINDS))

BINS := $(BUILD)/bin/rvsup $(BUILD)/bin/rvctl \
	$(patsubst %,$(BUILD)/bin/rvw-%,$(WORKER_KINDS))

UNIT_SRC  := $(wildcard tests/unit/*_test.c) $(wildcard tests/conf/*_test.c)
UNIT_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_SRC  := $(wildcard tests/lib/*.c)
TOOL_BINS := $(patsubst tests/lib/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRC))

.PHONY: all test test-update asan bench demo clean-build check-headers bootstrap \
	install
all: $(BINS) $(UNIT_BINS) $(TOOL_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
$(LIBSTORE): $(call obj,$(STORE_SRC))
$(LIBIPC): $(call obj,$(IPC_SRC))
$(LIBSKEL): $(call obj,$(SKEL_SRC))
$(foreach k,$(WORKER_KINDS),$(eval $(BUILD)/lib/librvw-$(k).a: \
	$(call obj,$(call kind_src,$(k)))))
$(BUILD)/lib/%.a:
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/rvsup: $(call obj,$(SUP_SRC)) $(LIBSTORE) $(LIBIPC) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_CURL) $(LIBS_SQL) $(LIBS_BASE)

$(BUILD)/bin/rvctl: $(call obj,$(CTL_SRC)) $(LIBSTORE) $(LIBIPC) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_MHD) $(LIBS_CURL) $(LIBS_SQL) $(LIBS_BASE)

# A child links its own folder, the skeleton, the wire and common: never
# the store (it asks the supervisor).
define child_rule
$(BUILD)/bin/rvw-$(1): $(BUILD)/obj/workers/$(1)/$(1).o $(BUILD)/lib/librvw-$(1).a \
    $(LIBSKEL) $(LIBIPC) $(LIBCOMMON)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LIBS_CURL) $$(LIBS_BASE)
endef
$(foreach k,$(WORKER_KINDS),$(eval $(call child_rule,$(k))))

# Unit and conformance tests link every library; archives pull in only
# the objects a test really uses.
TEST_LIBS := $(LIBKINDS) $(LIBSKEL) $(LIBSTORE) $(LIBIPC) $(LIBCOMMON)
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_CURL) $(LIBS_SQL) $(LIBS_BASE)

# The supervisor is no library: its timer test links the one object it tests.
$(BUILD)/tests/unit/timer_test: $(BUILD)/obj/supervisor/timer.o

$(BUILD)/tests/tools/%: $(BUILD)/obj/tests/lib/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_CURL) $(LIBS_SQL) $(LIBS_BASE)

# One libFuzzer target per parser of outside input: tests/fuzz/<name>_fuzz.c
# with its seeds in tests/fuzz/corpus/<name>/ (tests/fuzz/README).
FUZZ_SRC     := $(wildcard tests/fuzz/*_fuzz.c)
FUZZ_NAMES   := $(patsubst tests/fuzz/%_fuzz.c,%,$(FUZZ_SRC))
FUZZ_BINS    := $(patsubst %,build-fuzz/fuzz/%_fuzz,$(FUZZ_NAMES))
FUZZ_SECONDS ?= 60
.PHONY: fuzz fuzz-build
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_CURL) $(LIBS_SQL) $(LIBS_BASE)
# rvctl is no library: the dashboard's target links the two objects it
# tests (the evidence diff and the HTML escaping).
$(BUILD)/fuzz/dash_fuzz: $(BUILD)/obj/ctl/dash_diff.o $(BUILD)/obj/ctl/dash_html.o

fuzz-build:
	@$(MAKE) --no-print-directory FUZZ=1 $(FUZZ_BINS)

# make fuzz [FUZZ_SECONDS=N] [FUZZ_TARGETS="mp4 spec"]: each target runs N
# seconds over a scratch copy of its seeds; any crash, leak, sanitizer
# report or timeout fails (scripts/fuzz).
FUZZ_TARGETS ?= $(FUZZ_NAMES)
fuzz: bootstrap
	@$(MAKE) --no-print-directory -j$(shell nproc) fuzz-build
	@scripts/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bootstrap:
	@scripts/bootstrap

# make test [TEST_JOBS=N] [TEST_LOAD=K]: tests/run -j N --load K (default:
# tests/run's own, 2 x cores + 1 tests at once, no load).
TEST_JOBS ?=
TEST_LOAD ?=
test: bootstrap
	@$(MAKE) --no-print-directory -j$(shell nproc) all
	@BUILD=$(BUILD) tests/run $(if $(TEST_JOBS),-j $(TEST_JOBS)) \
	    $(if $(TEST_LOAD),--load $(TEST_LOAD))

asan:
	@$(MAKE) --no-print-directory test SANITIZE=1 TEST_JOBS=$(TEST_JOBS) \
	    TEST_LOAD=$(TEST_LOAD)

test-update: all
	@BUILD=$(BUILD) RV_UPDATE_GOLDEN=1 tests/run unit

bench: bootstrap
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/bench

demo: bootstrap
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/demo

# make chaos N=<trials> SEED=<n>: the randomized crash matrix (tests/chaos).
N    ?= 10
SEED ?= 1
.PHONY: chaos
chaos: bootstrap
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) RV_TESTING=1 sh tests/chaos/run.sh $(N) $(SEED)

check-headers:
	@for h in $$(find common ipc workers supervisor ctl -name '*.h' | sort); do \
		[ -f "$$h" ] || continue; \
		echo "#include \"$$h\"" | $(CC) $(filter-out -MMD -MP,$(CFLAGS)) -x c -fsyntax-only - || exit 1; \
	done; echo "headers ok"

# make install PREFIX=/usr/local: programs into $(PREFIX)/bin (the children
# beside rvsup: it starts them from its own directory), man pages into
# $(PREFIX)/share/man/man8.
PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 docs/rvsup.8 docs/rvctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/

# "make clean" is the operator's state cleanup (SPEC section 6, below).
clean-build:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- operator targets: thin calls of rvsup / rvctl (SPEC section 6) ----
RVSUP := $(BUILD)/bin/rvsup
RVCTL := $(BUILD)/bin/rvctl
need_id  = $(if $(ID),,$(error set ID=<video id>, e.g. make $@ ID=RAY-99))
need_yes = $(if $(filter YES,$(CONFIRM)),,$(error $@ changes things: run make $@ CONFIRM=YES))

.PHONY: worker worker-test stop stop-force status runs
worker: all
	$(RVSUP) start $(if $(WID),--worker-id $(WID))
worker-test: all
	RAYVAULT_LEASE_MINUTES=2 RAYVAULT_HEARTBEAT_INTERVAL_SEC=30 \
	RAYVAULT_HEARTBEAT_TIMEOUT_SEC=10 $(RVSUP) start $(if $(WID),--worker-id $(WID))
stop:
	$(RVSUP) stop
stop-force:
	$(RVSUP) stop --force
# rvctl status exits 3 when no supervisor runs; make status reports that
# (first line) and still exits 0: it answered.  69: the store is unusable.
status:
	@$(RVCTL) status; rc=$$?; [ $$rc -ne 3 ] || rc=0; exit $$rc
runs:
	$(RVCTL) runs

# ---- operator tooling: diagnostics, reports, cleanup, baptism (rvctl) ----
# Colour only on a terminal; NO_COLOR=1 turns it off.  Exit codes of the
# diagnostics: 0 ok, 1 warn, 2 critical (make reports them as failures).
# The targets ending in -apply, baptism-full and purge-spool need CONFIRM=YES.
.PHONY: doctor health doctor-alert preflight report timeline orphans clean \
	clean-hard clean-zombies clean-zombies-delete maintenance \
	maintenance-apply baptism baptism-full check-contract replay \
	index-refresh index-refresh-force index-repair index-repair-apply \
	quarantine purge-spool logs
doctor: $(RVCTL)
	$(RVCTL) doctor
health: $(RVCTL)
	$(RVCTL) doctor --no-replay
# What the service managers' companion job runs every 5 minutes.
doctor-alert: $(RVCTL)
	$(RVCTL) doctor --alert
preflight: $(RVCTL)
	$(RVCTL) preflight
report: $(RVCTL)
	$(RVCTL) report $(if $(ID),--video $(ID))
timeline: $(RVCTL)
	$(RVCTL) timeline $(if $(ID),--video $(ID))
orphans: $(RVCTL)
	$(RVCTL) orphans
clean: $(RVCTL)
	$(RVCTL) clean
clean-hard: $(RVCTL)
	$(RVCTL) clean-hard
clean-zombies: $(RVCTL)
	$(RVCTL) clean-zombies
clean-zombies-delete: $(RVCTL)
	$(RVCTL) clean-zombies --delete
maintenance: $(RVCTL)
	$(RVCTL) maintenance
maintenance-apply: $(RVCTL)
	$(need_yes)$(RVCTL) maintenance --apply
baptism: $(RVCTL)
	$(RVCTL) baptism --level A
baptism-full: $(RVCTL)
	$(need_yes)$(RVCTL) baptism --level B --confirm
check-contract: $(RVCTL)
	$(RVCTL) check-contract
replay: $(RVCTL)
	$(RVCTL) replay-spool
index-refresh: $(RVCTL)
	$(RVCTL) index-refresh
index-refresh-force: $(RVCTL)
	$(RVCTL) index-refresh --force
index-repair: $(RVCTL)
	$(RVCTL) index-repair
index-repair-apply: $(RVCTL)
	$(need_yes)$(RVCTL) index-repair --apply
quarantine: $(RVCTL)
	$(RVCTL) quarantine
purge-spool: $(RVCTL)
	$(need_yes)$(RVCTL) purge-spool --confirm
logs: $(RVCTL)
	$(RVCTL) logs
