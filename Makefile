# pclusterfs build. `make` builds ./pclusterfs; `make check` runs every test
# (also under AddressSanitizer + UndefinedBehaviorSanitizer); `make run`
# mounts ./clusters on the local cloud; `make stop` unmounts it.
#
# Sources are discovered, not listed: aws/*.c and slurm/*.c form their own
# archives (libaws.a, libslurm.a), fs/*/*.c the application's (libpcfs.a;
# fs/main.c excepted). Every tests/unit/test_*.c is a unit-test program:
# test_aws_* link libaws.a alone and test_slurm_* libslurm.a alone, so a
# reach of aws/ or slurm/ into fs/ or into each other fails their link, and
# `make walls` checks the includes too. Every tests/fuzz/fuzz_*.c is a
# libFuzzer harness.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DESTDIR ?=
PYTHON  := /usr/bin/python3

PKGS       := fuse3 libcurl openssl jansson inih expat
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS    = $(shell pkg-config --libs $(PKGS))

CFLAGS   ?= -O2 -g
BASE_CFLAGS = -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread -I. -MMD -MP
SAN_FLAGS   = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
COV_FLAGS   = --coverage -O0
FUZZ_FLAGS  = -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -DPCFS_FUZZING

# Files compiled into the binary from scripts/ (the node bootstrap).
EMBED_SRCS := $(wildcard scripts/embed/*)
GEN_SRC    := build/gen/embedded.c

FS_SRCS    := $(filter-out fs/main.c,$(wildcard fs/*.c fs/*/*.c))
AWS_SRCS   := $(wildcard aws/*.c)
SLURM_SRCS := $(wildcard slurm/*.c)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
UNIT_NAMES := $(UNIT_SRCS:tests/unit/%.c=%)
FUZZ_NAMES := $(FUZZ_SRCS:tests/fuzz/%.c=%)

MAKEFLAGS += --no-print-directory
# Objects of tests and fuzzers are kept between runs.
.SECONDARY:
.SECONDEXPANSION:

.PHONY: all check walls unit unit-rel unit-asan coverage fuzz-check fuzz integration valgrind \
        run stop install clean deps bench asan
all: pclusterfs

# The embedded files become C arrays; scripts/embed.sh writes them.
$(GEN_SRC): scripts/embed.sh $(EMBED_SRCS)
	@mkdir -p $(dir $@)
	sh scripts/embed.sh $@ $(EMBED_SRCS)

# The archives a program links, by its name: test_aws_* and awsprobe only
# libaws.a, test_slurm_* and slurmprobe only libslurm.a, the rest all three.
libs_for = $(if $(filter test_aws_% awsprobe,$(1)),build/$(2)/libaws.a,$(if $(filter test_slurm_% slurmprobe,$(1)),build/$(2)/libslurm.a,build/$(2)/libpcfs.a build/$(2)/libslurm.a build/$(2)/libaws.a))

# variant(name, compiler, extra flags)
define variant
build/$(1)/%.o: %.c
	@mkdir -p $$(dir $$@)
	$(2) $$(BASE_CFLAGS) $$(CFLAGS) $(3) $$(PKG_CFLAGS) -c $$< -o $$@
build/$(1)/embedded.o: $(GEN_SRC)
	@mkdir -p $$(dir $$@)
	$(2) $$(BASE_CFLAGS) $$(CFLAGS) $(3) -c $$< -o $$@
build/$(1)/libaws.a: $$(AWS_SRCS:%.c=build/$(1)/%.o)
	@rm -f $$@
	ar rcs $$@ $$^
build/$(1)/libslurm.a: $$(SLURM_SRCS:%.c=build/$(1)/%.o)
	@rm -f $$@
	ar rcs $$@ $$^
build/$(1)/libpcfs.a: $$(FS_SRCS:%.c=build/$(1)/%.o) build/$(1)/embedded.o
	@rm -f $$@
	ar rcs $$@ $$^
build/$(1)/pclusterfs: build/$(1)/fs/main.o $$(call libs_for,app,$(1))
	$(2) $$(CFLAGS) $(3) -pthread -o $$@ $$^ $$(PKG_LIBS)
build/$(1)/unit/%: build/$(1)/tests/unit/%.o $$$$(call libs_for,$$$$*,$(1))
	@mkdir -p $$(dir $$@)
	$(2) $$(CFLAGS) $(3) -pthread -o $$@ $$^ $$(PKG_LIBS)
-include $$(shell find build/$(1) -name '*.d' 2>/dev/null)
endef

$(eval $(call variant,rel,$(CC),))
$(eval $(call variant,asan,$(CC),$(SAN_FLAGS)))
$(eval $(call variant,fuzz,clang,$(FUZZ_FLAGS)))
$(eval $(call variant,cov,$(CC),$(COV_FLAGS)))

build/fuzz/bin/%: build/fuzz/tests/fuzz/%.o $$(call libs_for,$$*,fuzz)
	@mkdir -p $(dir $@)
	clang $(CFLAGS) -fsanitize=fuzzer,address,undefined -pthread -o $@ $^ $(PKG_LIBS)

pclusterfs: build/rel/pclusterfs
	cp $< $@

asan: build/asan/pclusterfs

deps:
	@scripts/install-deps

# ---------------------------------------------------------------- tests
FUZZ_SECONDS ?= 30
TEST_ENV = PCFS_ROOT=$(CURDIR)

unit-rel: $(UNIT_NAMES:%=build/rel/unit/%)
	@set -e; for t in $^; do echo "== $$t"; $(TEST_ENV) $$t; done
unit-asan: $(UNIT_NAMES:%=build/asan/unit/%)
	@set -e; for t in $^; do echo "== $$t"; $(TEST_ENV) ASAN_OPTIONS=detect_leaks=1 $$t; done
unit: unit-rel unit-asan

# Line coverage from the unit tests alone, per room of fs/ and for aws/ and
# slurm/ (gcov; not part of `make check`). The instrumented objects live in
# build/cov; every run starts from zero counts.
COV_ROOMS = $(sort $(dir $(wildcard fs/*/*.c))) fs/ aws/ slurm/
coverage: $(UNIT_NAMES:%=build/cov/unit/%)
	@find build/cov -name '*.gcda' -delete
	@set -e; for t in $^; do $(TEST_ENV) $$t >/dev/null 2>&1 || { echo "coverage: $$t failed"; exit 1; }; done
	@sh scripts/coverage-summary build/cov $(patsubst %/,%,$(COV_ROOMS))

# Each fuzzer runs FUZZ_SECONDS on its seed corpus (tests/fuzz/corpus/<name>),
# working on a copy so runs do not grow the committed corpus. `make check`
# runs each for 30 s; `make fuzz` for 600 s each, or as long as asked:
#   make fuzz FUZZ_SECONDS=3600 FUZZERS="fuzz_config fuzz_ec2_xml"
# A crash leaves its input in build/fuzz/crash-*; reproduce it with
# build/fuzz/bin/<name> build/fuzz/crash-...
FUZZERS ?= $(FUZZ_NAMES)
fuzz-check: $(FUZZERS:%=build/fuzz/bin/%)
	@set -e; for f in $(FUZZERS); do \
	  echo "== fuzz $$f ($(FUZZ_SECONDS) s)"; \
	  rm -rf build/fuzz/work/$$f; mkdir -p build/fuzz/work/$$f; \
	  cp -r tests/fuzz/corpus/$$f/. build/fuzz/work/$$f/ 2>/dev/null || true; \
	  build/fuzz/bin/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
	    -artifact_prefix=build/fuzz/ build/fuzz/work/$$f 2>build/fuzz/$$f.log \
	    || { tail -n 40 build/fuzz/$$f.log; exit 1; }; \
	  grep -E '^Done|#[0-9]+.*DONE' build/fuzz/$$f.log | tail -n 1; \
	done
fuzz: FUZZ_SECONDS = 600
fuzz: fuzz-check

# Integration tests mount for real, and each runs once: those that boot
# instances or are slow against the release binary (the daemon mostly waits
# there, and the sanitizers would only stretch the boot timeouts), all the
# others against the sanitizer build, which is the stricter judge. Running
# the quick ones a second time against the release build took ten minutes
# of the 45 DESIGN allows. The slowest tests of each pass are listed.
integration: pclusterfs build/asan/pclusterfs
	$(TEST_ENV) PCLUSTERFS_BIN=$(CURDIR)/build/asan/pclusterfs \
	  $(PYTHON) -m pytest -q -m "not boot and not slow" --durations=12 -p no:cacheprovider tests/integration
	$(TEST_ENV) PCLUSTERFS_BIN=$(CURDIR)/pclusterfs \
	  $(PYTHON) -m pytest -q -m "boot or slow" --durations=12 -p no:cacheprovider tests/integration

# The valgrind subset alone (it also runs within `integration`).
valgrind: pclusterfs
	$(TEST_ENV) PCLUSTERFS_BIN=$(CURDIR)/pclusterfs \
	  $(PYTHON) -m pytest -q -m valgrind -p no:cacheprovider tests/integration

# The walls between layers (DESIGN section 3): aws/ and slurm/ include
# nothing of fs/ nor of each other, and fs/ alone speaks FUSE.
walls:
	@bad=$$(grep -lE '#include *"(fs|slurm)/' aws/*.[ch]; \
	        grep -lE '#include *"(fs|aws)/' slurm/*.[ch]; \
	        grep -lE '#include *<fuse' aws/*.[ch] slurm/*.[ch]; \
	        grep -lE '#include *"fs/(control|fuse)/' fs/store/*.[ch]); \
	if [ -n "$$bad" ]; then echo "walls: these files reach across a wall: $$bad"; exit 1; fi; \
	echo "walls: aws/ and slurm/ stand alone; fs/store is below fs/control and fs/fuse"

check: deps walls
	$(MAKE) pclusterfs build/asan/pclusterfs
	$(MAKE) unit
	$(MAKE) fuzz-check
	$(MAKE) integration

bench: deps pclusterfs
	$(TEST_ENV) $(PYTHON) tests/bench/run.py

# ---------------------------------------------------------------- run
run: deps pclusterfs
	@scripts/run-local start

stop:
	@scripts/run-local stop

# ---------------------------------------------------------------- install
install: pclusterfs
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 pclusterfs $(DESTDIR)$(BINDIR)/pclusterfs
	install -m 0644 man/pclusterfs.1 $(DESTDIR)$(MANDIR)/man1/pclusterfs.1

clean:
	rm -rf build pclusterfs

# ---------------------------------------------------------------- test tools
# Every tests/tools/<name>.c is a small program that drives one library
# (aws/, slurm/) from the command line for the integration tests, built in
# the release and the sanitizer variant (build/{rel,asan}/tools/<name>).
TOOL_NAMES := $(patsubst tests/tools/%.c,%,$(wildcard tests/tools/*.c))
TOOLS := $(TOOL_NAMES:%=build/rel/tools/%) $(TOOL_NAMES:%=build/asan/tools/%)
build/rel/tools/%: build/rel/tests/tools/%.o $$(call libs_for,$$*,rel)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -pthread -o $@ $^ $(PKG_LIBS)
build/asan/tools/%: build/asan/tests/tools/%.o $$(call libs_for,$$*,asan)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -pthread -o $@ $^ $(PKG_LIBS)
tools: $(TOOLS)
integration: $(TOOLS)
.PHONY: tools
