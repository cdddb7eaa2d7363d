# RayVault build. GNU make, non-recursive. Every program lands in $(BUILD)/bin.
#   make            build everything into build/
#   make SANITIZE=1 build into build-asan/ with ASan + UBSan
#   make test       bootstrap, build, run unit, conformance and integration tests
#   make demo       run the sample job on a fresh embedded store
#   make fuzz       build the libFuzzer targets (clang) into build-fuzz/ and
#                   run each for FUZZ_SECONDS (tests/fuzz/README)
#   make PORTABLE=1 build into build-portable/ the way macOS builds: no
#                   libbsd or libmd (common/core/compat*.c instead), no
#                   Linux-only calls (RV_PORTABLE, common/core/platform.c),
#                   only POSIX and BSD names from the C library
#   make test PORTABLE=1  the unit tests plus the supervision and pipeline
#                   integration tests of tests/integration/portable.list
#                   on that build

# The platform picks the flags.  macOS is always PORTABLE: Homebrew's
# libbsd is Linux-only, Apple's linker has no --as-needed, and Homebrew's
# keg-only curl and sqlite are found through brew --prefix.
UNAME_S := $(shell uname -s)
NPROC   := $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)
ifeq ($(UNAME_S),Darwin)
PORTABLE := 1
BREW_PREFIX := $(shell brew --prefix 2>/dev/null)
ifneq ($(BREW_PREFIX),)
export PKG_CONFIG_PATH := $(BREW_PREFIX)/opt/curl/lib/pkgconfig:$(BREW_PREFIX)/opt/sqlite/lib/pkgconfig:$(BREW_PREFIX)/lib/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH))
endif
endif

PKGS_BASE  := libzmq libcjson
ifneq ($(PORTABLE),1)
PKGS_BASE  += libbsd-overlay libmd
endif
PKGS_CURL  := libcurl
PKGS_SQL   := sqlite3

ifeq ($(PORTABLE),1)
# compat.h maps the BSD names libbsd would supply to common/core/compat*.c.
ifeq ($(UNAME_S),Darwin)
SRC_DEFS := -D_DARWIN_C_SOURCE
else
SRC_DEFS := -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700
endif
SRC_DEFS += -DRV_PORTABLE -include common/core/compat.h
else
SRC_DEFS := -D_GNU_SOURCE
endif

CC      ?= cc
CFLAGS  := -std=c11 $(SRC_DEFS) -g -O2 -Wall -Wextra -Werror -Wshadow \
	   -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla -MMD -MP \
	   -I. $(shell pkg-config --cflags $(PKGS_BASE) $(PKGS_CURL) $(PKGS_SQL) 2>/dev/null)
# Every symbol bound at load (-z now) and the relocations then made
# read-only (full RELRO): no lazy binding later, whose resolver saves the
# vector registers (where string functions left what they scanned, a key
# of .env among it) on the stack.  macOS: not set (ld64's chained fixups
# bind at load).
ifeq ($(UNAME_S),Darwin)
LDFLAGS :=
else
LDFLAGS := -Wl,--as-needed -Wl,-z,relro -Wl,-z,now
endif
BUILD   := build
ifeq ($(PORTABLE),1)
ifneq ($(UNAME_S),Darwin)
BUILD   := build-portable
endif
endif
ifeq ($(SANITIZE),1)
BUILD   := $(BUILD:build%=build-asan%)
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
# libcurl is loaded on first use (common/core/curl_dl.c): the programs do
# not link it; it is looked for first in the folder pkg-config names (the
# library whose headers were compiled against), then by its name.  Tests
# that call libcurl themselves link it.
LIBS_CURL := $(shell pkg-config --libs $(PKGS_CURL) 2>/dev/null)
ifneq ($(UNAME_S),Darwin)
LIBS_DL   := -ldl
endif
# The folder of a library to dlopen, from pkg-config.  Homebrew's .pc files
# name the versioned Cellar folder, which the next brew upgrade removes:
# its opt/ link is the stable name of the same library.
libdir_of = $(shell pkg-config --variable=libdir $(1) 2>/dev/null | \
    sed -E 's|/Cellar/([^/]+)/[^/]+/lib$$|/opt/\1/lib|')
$(BUILD)/obj/common/core/curl_dl.o: CFLAGS += \
    -DRV_CURL_LIBDIR='"$(call libdir_of,$(PKGS_CURL))"'
LIBS_SQL  := $(shell pkg-config --libs $(PKGS_SQL) 2>/dev/null)
# GNU libmicrohttpd: rvctl dashboard only, loaded when it starts
# (ctl/mhd_dl.c), so no program links it; the test doubles that serve
# HTTP link it.
PKGS_MHD  := libmicrohttpd
LIBS_MHD  := $(shell pkg-config --libs $(PKGS_MHD) 2>/dev/null)
$(BUILD)/obj/ctl/%.o: CFLAGS += $(shell pkg-config --cflags $(PKGS_MHD) 2>/dev/null)
$(BUILD)/obj/ctl/mhd_dl.o: CFLAGS += \
    -DRV_MHD_LIBDIR='"$(call libdir_of,$(PKGS_MHD))"'

WORKER_KINDS := evidence voice render probe notify

# Libraries, lowest first: common (core, media, telegram; no store), the
# store with its backends, the wire (ipc), the child skeleton, and one
# archive per child program holding everything in workers/<kind>/ but its
# main file workers/<kind>/<kind>.c.
COMMON_SRC := $(filter-out common/core/version.c,$(wildcard common/core/*.c \
	      common/media/*.c common/telegram/*.c))
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

# The version (VERSION and the commit) is baked into version.o alone,
# linked into the seven programs only: the header is rewritten only when
# its text changes (scripts/version-header), so a make on the same commit
# rebuilds nothing and a new commit relinks the programs, not the tests.
# A tree without git history (a tarball) takes GIT_REV=<hex>, or none.
VERSION_H := $(BUILD)/gen/rv_version.h
VERSION_O := $(BUILD)/obj/common/core/version.o
$(VERSION_H): FORCE
	@GIT_REV='$(GIT_REV)' scripts/version-header $@
$(VERSION_O): $(VERSION_H)
$(VERSION_O): CFLAGS += -include $(VERSION_H)
.PHONY: FORCE
FORCE:

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

$(BUILD)/bin/rvsup: $(call obj,$(SUP_SRC)) $(VERSION_O) $(LIBSTORE) $(LIBIPC) \
    $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_SQL) $(LIBS_BASE) $(LIBS_DL)

$(BUILD)/bin/rvctl: $(call obj,$(CTL_SRC)) $(VERSION_O) $(LIBSTORE) $(LIBIPC) \
    $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_SQL) $(LIBS_BASE) $(LIBS_DL)

# A child links its own folder, the skeleton, the wire and common: never
# the store (it asks the supervisor).
define child_rule
$(BUILD)/bin/rvw-$(1): $(BUILD)/obj/workers/$(1)/$(1).o $(VERSION_O) \
    $(BUILD)/lib/librvw-$(1).a $(LIBSKEL) $(LIBIPC) $(LIBCOMMON)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LIBS_BASE) $$(LIBS_DL)
endef
$(foreach k,$(WORKER_KINDS),$(eval $(call child_rule,$(k))))

# Unit and conformance tests link every library; archives pull in only
# the objects a test really uses.
TEST_LIBS := $(LIBKINDS) $(LIBSKEL) $(LIBSTORE) $(LIBIPC) $(LIBCOMMON)
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_CURL) $(LIBS_SQL) $(LIBS_BASE) $(LIBS_DL)

# The supervisor and rvctl are no libraries: their tests link the one
# object each tests.
$(BUILD)/tests/unit/timer_test: $(BUILD)/obj/supervisor/timer.o
$(BUILD)/tests/unit/ctl_json_test: $(BUILD)/obj/ctl/ctl_json.o

$(BUILD)/tests/tools/%: $(BUILD)/obj/tests/lib/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_CURL) $(LIBS_SQL) $(LIBS_BASE) $(LIBS_DL)

# One libFuzzer target per parser of outside input: tests/fuzz/<name>_fuzz.c
# with its seeds in tests/fuzz/corpus/<name>/ (tests/fuzz/README).
FUZZ_SRC     := $(wildcard tests/fuzz/*_fuzz.c)
FUZZ_NAMES   := $(patsubst tests/fuzz/%_fuzz.c,%,$(FUZZ_SRC))
FUZZ_BINS    := $(patsubst %,build-fuzz/fuzz/%_fuzz,$(FUZZ_NAMES))
FUZZ_SECONDS ?= 60
.PHONY: fuzz fuzz-build
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_CURL) $(LIBS_SQL) $(LIBS_BASE) $(LIBS_DL)
# rvctl is no library: the dashboard's target links the three objects it
# tests (the evidence diff, the HTML escaping and the JSON readers).
$(BUILD)/fuzz/dash_fuzz: $(BUILD)/obj/ctl/dash_diff.o $(BUILD)/obj/ctl/dash_html.o \
    $(BUILD)/obj/ctl/ctl_json.o

fuzz-build:
	@$(MAKE) --no-print-directory FUZZ=1 $(FUZZ_BINS)

# make fuzz [FUZZ_SECONDS=N] [FUZZ_TARGETS="mp4 spec"]: each target runs N
# seconds over a scratch copy of its seeds; any crash, leak, sanitizer
# report or timeout fails (scripts/fuzz).
FUZZ_TARGETS ?= $(FUZZ_NAMES)
fuzz: bootstrap
	@$(MAKE) --no-print-directory -j$(NPROC) fuzz-build
	@scripts/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bootstrap:
	@scripts/bootstrap

# make test [TEST_JOBS=N] [TEST_LOAD=K]: tests/run -j N --load K (default:
# tests/run's own, 2 x cores + 1 tests at once, no load).  With PORTABLE=1:
# tests/run portable (the unit tests and tests/integration/portable.list).
TEST_JOBS ?=
TEST_LOAD ?=
test: bootstrap
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@BUILD=$(BUILD) tests/run $(if $(TEST_JOBS),-j $(TEST_JOBS)) \
	    $(if $(TEST_LOAD),--load $(TEST_LOAD)) $(if $(filter 1,$(PORTABLE)),portable)

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

# ---- installing and distributing ----
# make install [PREFIX=/usr/local] [DESTDIR=/tmp/pkg]: rvsup and rvctl into
# $(PREFIX)/bin; the children into $(PREFIX)/libexec/rayvault (rvsup
# starts them from ../libexec/rayvault of its own directory when they are
# not beside it, as in build/bin); the man pages; rvctl's bash and zsh
# completions; and into $(PREFIX)/share/rayvault everything under
# contrib/ (service files, the Homebrew formula), .env.example, config/
# and examples/.  make uninstall removes them again (same PREFIX and
# DESTDIR).  make dist packs HEAD as rayvault-$(RV_VERSION).tar.gz (into
# DIST_DIR, default .), which builds on its own with make, and beside
# it rayvault.rb, contrib/homebrew's formula with that tarball's url and
# sha256 (README, "Installing").  make
# completions remakes contrib/completions from rvctl's command table.
RV_VERSION  ?= $(shell cat VERSION 2>/dev/null || echo 0.0.0)
PREFIX      ?= /usr/local
BINDIR      := $(PREFIX)/bin
LIBEXECDIR  := $(PREFIX)/libexec/rayvault
MANDIR      := $(PREFIX)/share/man
DATADIR     := $(PREFIX)/share/rayvault
BASHCOMPDIR := $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  := $(PREFIX)/share/zsh/site-functions
DIST_DIR    ?= .
MAN5        := docs/rayvault.env.5
MAN8        := docs/rvsup.8 docs/rvctl.8
CONTRIB     := $(shell find contrib -type f ! -name '.*' 2>/dev/null | sort)
SHARE_FILES := $(CONTRIB) $(wildcard config/*.json) \
	$(shell find examples -type f 2>/dev/null | sort)
.PHONY: uninstall dist completions
install: $(BINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0755 $(BUILD)/bin/rvsup $(BUILD)/bin/rvctl $(DESTDIR)$(BINDIR)/
	install -m 0755 $(filter $(BUILD)/bin/rvw-%,$(BINS)) $(DESTDIR)$(LIBEXECDIR)/
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 contrib/completions/rvctl.bash $(DESTDIR)$(BASHCOMPDIR)/rvctl
	install -m 0644 contrib/completions/_rvctl $(DESTDIR)$(ZSHCOMPDIR)/_rvctl
	install -d $(DESTDIR)$(DATADIR)
	install -m 0644 .env.example $(DESTDIR)$(DATADIR)/env.example
	@for f in $(SHARE_FILES); do \
		echo "install -m 0644 $$f $(DESTDIR)$(DATADIR)/$$f"; \
		install -d "$(DESTDIR)$(DATADIR)/$$(dirname $$f)" && \
		install -m 0644 "$$f" "$(DESTDIR)$(DATADIR)/$$f" || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/rvsup $(DESTDIR)$(BINDIR)/rvctl
	rm -f $(patsubst $(BUILD)/bin/%,$(DESTDIR)$(LIBEXECDIR)/%,$(filter $(BUILD)/bin/rvw-%,$(BINS)))
	@rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null || true
	rm -f $(patsubst docs/%,$(DESTDIR)$(MANDIR)/man5/%,$(MAN5))
	rm -f $(patsubst docs/%,$(DESTDIR)$(MANDIR)/man8/%,$(MAN8))
	rm -f $(DESTDIR)$(BASHCOMPDIR)/rvctl $(DESTDIR)$(ZSHCOMPDIR)/_rvctl
	rm -rf $(DESTDIR)$(DATADIR)

dist:
	@git rev-parse --verify -q HEAD >/dev/null || { echo "make dist:" \
	    "packs the git HEAD; this tree has no git repository" >&2; exit 1; }
	@git diff --quiet HEAD -- || echo "make dist: uncommitted changes" \
	    "are not in the tarball (it packs HEAD)" >&2
	git archive --format=tar.gz --prefix=rayvault-$(RV_VERSION)/ \
	    -o $(DIST_DIR)/rayvault-$(RV_VERSION).tar.gz HEAD
	@tgz=$$(cd $(DIST_DIR) && pwd)/rayvault-$(RV_VERSION).tar.gz && \
	sum=$$( (sha256sum 2>/dev/null || shasum -a 256) <"$$tgz" | \
	    cut -d' ' -f1) && \
	sed -e "s|^  url .*|  url \"file://$$tgz\"|" \
	    -e "s|^  version .*|  version \"$(RV_VERSION)\"|" \
	    -e "s|^  sha256 .*|  sha256 \"$$sum\"|" \
	    contrib/homebrew/rayvault.rb >$(DIST_DIR)/rayvault.rb && \
	echo "$$tgz" && echo "$(DIST_DIR)/rayvault.rb: its Homebrew formula"

completions: $(BUILD)/bin/rvctl
	scripts/gen-completions $(BUILD)/bin/rvctl contrib/completions

# make install-launchd (macOS) / install-systemd (Linux): the supervisor
# and the doctor's 5-minute alert job of this user, running the programs
# of SERVICE_BINDIR (this checkout's build; SERVICE_BINDIR=$(PREFIX)/bin
# after make install) in WORKDIR, the folder with .env (here), on the
# state directory its settings name (or STATE_DIR=); then loaded.
# DESTDIR=, LAUNCHD_DIR= or SYSTEMD_USER_DIR= only write the files
# (scripts/service has every variable).
SERVICE_BINDIR ?= $(CURDIR)/$(BUILD)/bin
WORKDIR        ?= $(CURDIR)
.PHONY: install-launchd uninstall-launchd install-systemd uninstall-systemd
install-launchd uninstall-launchd install-systemd uninstall-systemd:
	@SERVICE_BINDIR='$(SERVICE_BINDIR)' WORKDIR='$(WORKDIR)' \
	    scripts/service $(subst -, ,$@)

# "make clean" is the operator's state cleanup (SPEC section 6, below).
clean-build:
	rm -rf build build-asan build-fuzz build-portable build-asan-portable

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
