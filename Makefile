# smtpgate: one Makefile for the BPF object, its skeleton, the userspace
# library, smtpgated, smtpgatectl and the test programs.
#
#   make          build everything
#   make deps     install the Debian packages the build and tests need
#   make test     run every test suite (root), with the short VM slice;
#                 last line "N passed, N failed"
#   make bench    run the benchmarks (not tests)
#   make demo     run the lab demo (DEMO_ARGS="--keep" etc. go to scripts/lab.sh)
#   make fuzz     run every libFuzzer target FUZZ_SECONDS (default 60) each
#   make SANITIZE=1 BUILD=build-asan   smtpgated/smtpgatectl with ASan+UBSan
#   make SANITIZE=thread BUILD=build-tsan   the same with ThreadSanitizer
#   make install  smtpgated, smtpgatectl, unit, man pages... (DESTDIR, PREFIX)
#   make deb      the Debian package, in $(BUILD)/deb/ (scripts/build-deb.sh)
#   make test-vm  the package and the BPF suites in a Debian 12 VM (tests/vm)

VERSION      := 0.1.0
BUILD        := build
CC           ?= gcc
CLANG        ?= clang
BPFTOOL      ?= bpftool

# libsystemd is optional: sd_notify is then a no-op (see docs/operations.md).
HAVE_SYSTEMD := $(shell pkg-config --exists libsystemd && echo 1)

CFLAGS       ?= -O2 -g
# SANITIZE=1: everything built with ASan and UBSan (use a BUILD dir of its own).
ifeq ($(SANITIZE),1)
CFLAGS       += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
# SANITIZE=thread: ThreadSanitizer, for the code that splits work over
# two threads (reading trusted[], placing a generation's entries).
ifeq ($(SANITIZE),thread)
CFLAGS       += -fsanitize=thread -fno-omit-frame-pointer
endif
CFLAGS       += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
		-DSG_VERSION=\"$(VERSION)\" \
		-Iinclude -I$(BUILD) -I$(BUILD)/tests/tools -Iuserspace/lib -Itests/lib \
		$(shell pkg-config --cflags libnl-3.0 libnl-route-3.0)
# libnl is core: the library asks it each interface's link type before
# attaching (userspace/lib/linktype.c), and smtpgatectl-full links that code.
# libcurl (the fleet store's etcd client, userspace/lib/store/) is not
# linked: curl_dl.c dlopens libcurl.so.4 when a store is opened, so a
# daemon without a fleet store does not map it and the ~40 libraries it
# pulls in (about 5 MiB of RSS).  Only its header is needed to build.
# -ldl: dlopen (part of libc since glibc 2.34; a no-op there).
LDLIBS_CORE  := -lbpf -lelf -lz -ljansson -lm -lnettle -ldl \
		$(shell pkg-config --libs libnl-route-3.0 libnl-3.0)
LDLIBS_DAEMON := $(LDLIBS_CORE) -lmicrohttpd -lpthread
ifeq ($(HAVE_SYSTEMD),1)
CFLAGS       += -DSG_HAVE_SYSTEMD=1
LDLIBS_DAEMON += -lsystemd
endif

BPF_CFLAGS   := -O2 -g -target bpf -mcpu=v3 -Wall -Werror -Iinclude \
		-I/usr/include/$(shell gcc -dumpmachine)

BPF_OBJ      := $(BUILD)/smtpgate.bpf.o
SKEL         := $(BUILD)/smtpgate.skel.h
LIB          := $(BUILD)/libsmtpgate.a

LIB_SRCS     := $(wildcard userspace/lib/*.c userspace/lib/store/*.c)
LIB_OBJS     := $(LIB_SRCS:%.c=$(BUILD)/%.o)
DAEMON_SRCS  := $(wildcard userspace/daemon/*.c)
DAEMON_OBJS  := $(DAEMON_SRCS:%.c=$(BUILD)/%.o)
CTL_SRCS     := $(wildcard userspace/ctl/*.c)
CTL_OBJS     := $(CTL_SRCS:%.c=$(BUILD)/%.o)
# smtpgatectl links only what talking to smtpgated needs; the commands
# that need libbpf, libcurl (loaded by them when used: curl_dl.c),
# libnettle (sha256) or the policy compiler are in smtpgatectl-full, which it
# execs for them (userspace/ctl/full_stub.c).
CTL_FULL_ONLY := $(addprefix $(BUILD)/userspace/ctl/,check.o store.o audit_fleet.o stats_pins.o \
		   $(notdir $(patsubst %.c,%.o,$(wildcard userspace/ctl/report*.c))))
CTL_STUB     := $(BUILD)/userspace/ctl/full_stub.o
CTL_THIN_OBJS := $(filter-out $(CTL_FULL_ONLY),$(CTL_OBJS))
CTL_FULL_OBJS := $(filter-out $(CTL_STUB),$(CTL_OBJS))
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(BUILD)/%.o)

# Every tests/<suite>/*.c with a main() becomes build/tests/<suite>/<name>.
TEST_PROG_SRCS := $(filter-out %.bpf.c,$(wildcard tests/bpf/*.c tests/unit/*.c tests/bench/*.c \
			     tests/tools/*.c tests/load/*.c))
TEST_PROGS   := $(TEST_PROG_SRCS:%.c=$(BUILD)/%)

# BPF programs of the test tooling (traffic generators), with skeletons
# named after the file: tests/tools/foo.bpf.c -> build/tests/tools/foo.skel.h.
TOOL_BPF_SRCS := $(wildcard tests/tools/*.bpf.c)
TOOL_SKELS   := $(TOOL_BPF_SRCS:tests/tools/%.bpf.c=$(BUILD)/tests/tools/%.skel.h)

# LD_PRELOAD shims that inject file-system faults in tests: shared
# objects, kept out of tests/lib (linked into every test program) and out
# of the suites (each file a program).
PRELOAD_SRCS := $(wildcard tests/preload/*.c)
PRELOADS     := $(PRELOAD_SRCS:tests/preload/%.c=$(BUILD)/tests/preload/%.so)

PROGS        := $(if $(DAEMON_SRCS),$(BUILD)/smtpgated) \
		$(if $(CTL_SRCS),$(BUILD)/smtpgatectl $(BUILD)/smtpgatectl-full)

# sglab: the namespace lab's helpers (scripts/lab/), built with
# everything but not packaged: the demo needs it, the tests too.
LAB_SRCS     := $(wildcard userspace/lab/*.c)
LAB_OBJS     := $(LAB_SRCS:%.c=$(BUILD)/%.o)
LAB_TOOL     := $(if $(LAB_SRCS),$(BUILD)/sglab)

# Keep objects made through pattern chains (make would delete them as
# intermediates): the build dir stays inspectable and links stay cheap.
.SECONDARY:

.PHONY: all progs deps test bench demo clean install deb test-vm fuzz fuzz-build
all: $(BPF_OBJ) $(SKEL) $(LIB) $(PROGS) $(LAB_TOOL) $(TEST_PROGS) $(PRELOADS)

# The daemon and the CLI only (no test programs, no cmocka): what a
# package builds.
progs: $(PROGS)

deps:
	scripts/install-deps.sh

$(BUILD):
	mkdir -p $@

# abi.h and the parts it includes.
ABI_HDRS := $(wildcard include/smtpgate/abi*.h)
BPF_HDRS := $(wildcard bpf/*.h) $(ABI_HDRS)
$(BPF_OBJ): bpf/smtpgate.bpf.c $(BPF_HDRS) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(BPF_OBJ)
	$(BPFTOOL) gen skeleton $< name smtpgate > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/tools/%.bpf.o: tests/tools/%.bpf.c $(ABI_HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tests/tools/%.skel.h: $(BUILD)/tests/tools/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@.tmp && mv $@.tmp $@

# Every userspace object may include the skeletons or the ABI header.
$(BUILD)/%.o: %.c $(SKEL) $(TOOL_SKELS) $(wildcard userspace/*/*.h userspace/lib/store/*.h include/smtpgate/*.h tests/lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(AR) rcs $@ $^

$(BUILD)/smtpgated: $(DAEMON_OBJS) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_DAEMON)

# --as-needed: of LDLIBS_CORE, only the libraries the objects pulled
# from the archive call are loaded at start (jansson and libc).
$(BUILD)/smtpgatectl: $(CTL_THIN_OBJS) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(LDLIBS_CORE)

$(BUILD)/smtpgatectl-full: $(CTL_FULL_OBJS) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_CORE)

$(BUILD)/sglab: $(LAB_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lbpf -lelf -lz

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TESTLIB_OBJS) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_DAEMON) -lcmocka -lm

$(BUILD)/tests/preload/%.so: tests/preload/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -fPIC -o $@ $< -ldl

# test, bench and demo set themselves up on a fresh machine: packages
# (a no-op when present), bpffs, the build.
test:
	scripts/install-deps.sh --vm
	$(MAKE) all fuzz-build
	BUILD=$(BUILD) tests/run.sh

bench:
	scripts/install-deps.sh
	$(MAKE) all
	BUILD=$(BUILD) tests/bench/run.sh

demo:
	scripts/install-deps.sh
	$(MAKE) all
	BUILD=$(BUILD) scripts/lab.sh --demo $(DEMO_ARGS)

# ---- fuzzing (docs/testing.md) -----------------------------------------
# libFuzzer targets, tests/fuzz/fuzz_*.c, built with clang, ASan and UBSan
# apart from the gcc build: the library, daemon and test library sources
# again into $(FUZZ_BUILD) with -fsanitize=fuzzer-no-link, each target
# linked with -fsanitize=fuzzer.  `make fuzz` keeps what it finds in
# $(FUZZ_BUILD)/corpus/<target> (outside the repository); the seeds in
# tests/fuzz/corpus/<target> are only read.
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer
FUZZ_CFLAGS  := -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
		-std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -DSG_VERSION=\"$(VERSION)\" \
		-Iinclude -I$(BUILD) -Iuserspace/lib -Iuserspace/daemon -Iuserspace/ctl \
		-Itests/lib -Itests/fuzz \
		$(shell pkg-config --cflags libnl-3.0 libnl-route-3.0)
ifeq ($(HAVE_SYSTEMD),1)
FUZZ_CFLAGS  += -DSG_HAVE_SYSTEMD=1
endif
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_TARGETS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
# Everything but the daemon's main(): the control target runs its
# dispatcher in-process.  Of smtpgatectl, the report's reader and
# renderers (with the table printer they use): the report target.
FUZZ_CTL_SRCS := $(filter-out userspace/ctl/report.c,$(wildcard userspace/ctl/report_*.c)) \
		 userspace/ctl/output.c
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(LIB_SRCS) \
		 $(filter-out userspace/daemon/main.c,$(DAEMON_SRCS)) $(FUZZ_CTL_SRCS) $(TESTLIB_SRCS))
FUZZ_SECONDS ?= 60

fuzz-build: $(FUZZ_TARGETS) $(FUZZ_BUILD)/seedgen

$(FUZZ_BUILD)/%.o: %.c $(SKEL) $(wildcard userspace/*/*.h include/smtpgate/*.h tests/lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/tests/fuzz/%.o: tests/fuzz/%.c $(SKEL) $(wildcard userspace/*/*.h include/smtpgate/*.h tests/lib/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS_DAEMON) -lcmocka -lm

# Writes the packet seeds (tests/lib/pkt frames): no libFuzzer main.
$(FUZZ_BUILD)/seedgen: $(FUZZ_BUILD)/tests/fuzz/seedgen.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -o $@ $^ $(LDLIBS_DAEMON) -lcmocka -lm

fuzz: fuzz-build
	BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run_fuzz.sh
# Installation for any distribution: make install DESTDIR=... PREFIX=...
# The BPF programs are embedded in both binaries (bpftool skeleton):
# nothing is installed under lib/.  The unit's paths follow SBINDIR,
# BINDIR and SYSCONFDIR.  No config is installed, only examples: the
# unit starts once $(SYSCONFDIR)/smtpgate/smtpgate.json exists.
PREFIX       ?= /usr/local
SBINDIR      ?= $(PREFIX)/sbin
BINDIR       ?= $(PREFIX)/bin
MANDIR       ?= $(PREFIX)/share/man
DOCDIR       ?= $(PREFIX)/share/doc/smtpgate
SYSCONFDIR   ?= /etc
UNITDIR      ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR  ?= $(PREFIX)/lib/tmpfiles.d
BASHCOMPDIR  ?= $(PREFIX)/share/bash-completion/completions
LIBEXECDIR   ?= $(PREFIX)/libexec
INSTALL      ?= install
EXAMPLES     := policies/example.smtpgate.json policies/example.policy.json \
		policies/minimal.policy.json policies/throttle.policy.json

install: $(PROGS)
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d $(DESTDIR)$(SYSCONFDIR)/smtpgate \
		$(DESTDIR)$(DOCDIR)/examples
	$(INSTALL) -m 0755 $(BUILD)/smtpgated $(DESTDIR)$(SBINDIR)/smtpgated
	$(INSTALL) -m 0755 $(BUILD)/smtpgatectl $(DESTDIR)$(BINDIR)/smtpgatectl
	# Found by smtpgatectl at $(BINDIR)/../libexec/smtpgate (full_stub.c).
	$(INSTALL) -d $(DESTDIR)$(BINDIR)/../libexec/smtpgate
	$(INSTALL) -m 0755 $(BUILD)/smtpgatectl-full $(DESTDIR)$(BINDIR)/../libexec/smtpgate/smtpgatectl-full
	sed -e 's|/usr/sbin/smtpgated|$(SBINDIR)/smtpgated|g' \
	    -e 's|/usr/bin/smtpgatectl|$(BINDIR)/smtpgatectl|g' \
	    -e 's|/etc/smtpgate/|$(SYSCONFDIR)/smtpgate/|g' \
		dist/systemd/smtpgated.service > $(DESTDIR)$(UNITDIR)/smtpgated.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/smtpgated.service
	$(INSTALL) -m 0644 dist/tmpfiles.d/smtpgate.conf $(DESTDIR)$(TMPFILESDIR)/smtpgate.conf
	$(INSTALL) -m 0644 dist/logrotate/smtpgate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/smtpgate
	$(INSTALL) -m 0644 docs/man/smtpgated.8 docs/man/smtpgatectl.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 scripts/smtpgatectl.bash-completion $(DESTDIR)$(BASHCOMPDIR)/smtpgatectl
	$(INSTALL) -m 0644 policies/example.smtpgate.json \
		$(DESTDIR)$(SYSCONFDIR)/smtpgate/smtpgate.json.example
	$(INSTALL) -m 0644 policies/example.policy.json \
		$(DESTDIR)$(SYSCONFDIR)/smtpgate/policy.json.example
	$(INSTALL) -m 0644 $(EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/

# The Debian package (debhelper, dpkg-buildpackage) from a copy of the
# tree, so nothing is written next to the repository:
# $(BUILD)/deb/smtpgate_$(VERSION)_<arch>.deb, checked with lintian.
deb:
	scripts/install-deps.sh
	scripts/build-deb.sh $(BUILD)/deb $(VERSION)

# Debian 12 in qemu (TCG): the package under systemd and the BPF suites
# on Debian's 6.1 kernels.  Cached in $${SMTPGATE_CACHE:-/var/cache/smtpgate-test}.
test-vm:
	scripts/install-deps.sh --vm
	$(MAKE) all
	$(MAKE) deb
	BUILD=$(BUILD) tests/vm/run.sh $(VM_ARGS)

clean:
	rm -rf $(BUILD)
