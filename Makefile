# Front door. The real build is CMake (CMakeLists.txt); these targets install what is
# missing, configure, build, and run the harness.
#
#   make detect [SLUG=x] [DETECTOR=y] [REPEAT=n]   every program under every detector, the matrix
#   make test                                      Criterion tests (CTest) + the gate
#   make bench                                     what lockgraph costs next to native, TSan, Valgrind
#   make fuzz [FUZZ_SECONDS=n]                     libFuzzer on the parsers, n seconds per target
#   make diff SLUG=lost_update                     the lesson: buggy vs fixed
#   make install [PREFIX=/usr/local]               lockgraph: bin/, lib/lockgraph/, its man page, docs
#   make deb                                       lockgraph's Debian package, in build/packages/
#   make clean

BUILD ?= build
MAKEFLAGS += --no-print-directory
JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 120

DETECT_ARGS = --build $(BUILD) --jobs $(JOBS)
ifdef SLUG
DETECT_ARGS += --slug $(SLUG)
endif
ifdef DETECTOR
DETECT_ARGS += --detector $(DETECTOR)
endif
ifdef REPEAT
DETECT_ARGS += --repeat $(REPEAT)
endif

.PHONY: all deps bench-deps build detect gate test bench diff clean slug-check install deb fuzz

# One line for a hazard that does not exist; $(1) is the command that was asked for.
slugs_list = $$(cd buggy && ls *.c | sed 's/\.c$$//' | tr '\n' ' ')
no_hazard = echo "make $(1): no hazard '$$s'; the slugs are: $(slugs_list)"; exit 2

all: build

# deps is the first step of every build, so a misspelt SLUG fails before minutes of building.
deps: slug-check
	@scripts/deps.sh build

slug-check:
	@case "$(JOBS)" in ''|*[!0-9]*|0) echo "make: JOBS=$(JOBS): a number of parallel jobs, 1 or more"; exit 2;; esac
ifdef SLUG
	@for s in $$(echo "$(SLUG)" | tr ',' ' '); do \
	  test -f "buggy/$$s.c" || { $(call no_hazard,$(or $(firstword $(MAKECMDGOALS)),all)); }; \
	done
endif

bench-deps:
	@scripts/deps.sh bench

# The build's own output goes to a log; warnings are shown, and on failure the log's tail.
build: deps
	@mkdir -p $(BUILD)
	@echo "build: building in $(BUILD)/ (log: $(BUILD)/build.log)"
	@{ cmake -S . -B $(BUILD) $(CMAKE_FLAGS) && cmake --build $(BUILD) -j $(JOBS); } \
	  >$(BUILD)/build.log 2>&1 || { tail -n 40 $(BUILD)/build.log; \
	  echo "build: FAILED (full log: $(BUILD)/build.log)"; exit 1; }
	@grep -E '(warning|error):' $(BUILD)/build.log | sort -u | head -n 20 || true

detect: build
	@$(BUILD)/bin/detect $(DETECT_ARGS)

gate: build
	@$(BUILD)/bin/detect --gate $(DETECT_ARGS)

test: build
	@scripts/deps.sh test $(BUILD)
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(BUILD)/bin/detect --gate $(DETECT_ARGS)

bench: bench-deps build
	@scripts/bench.sh $(BUILD)

# The fuzz build is a CMake project of its own (tests/fuzz, clang), never part of the main build.
fuzz:
	@scripts/deps.sh fuzz
	@scripts/fuzz.sh --seconds $(FUZZ_SECONDS) $(BUILD)/fuzz

install: build
	@cmake --install $(BUILD) --prefix "$(PREFIX)" | sed -n 's/^-- \(Installing\|Up-to-date\): /install: /p'

deb: build
	@cd $(BUILD) && cpack -G DEB >cpack.log 2>&1 || { tail -n 20 cpack.log; echo "deb: FAILED (log: $(BUILD)/cpack.log)"; exit 1; }
	@ls $(BUILD)/packages/lockgraph_*.deb | sed 's/^/deb: /'

diff:
	@test -n "$(SLUG)" || { echo "make diff: say which hazard, e.g. make diff SLUG=lost_update (see buggy/)"; exit 2; }
	@s="$(SLUG)"; test -f "buggy/$$s.c" || { $(call no_hazard,diff); }
	@diff -u "buggy/$(SLUG).c" "fixed/$(SLUG).c"; test $$? -le 1

clean:
	rm -rf $(BUILD)
