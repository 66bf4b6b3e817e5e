# ledgerfl front door. `make run` and `make test` work on a fresh Debian 12 machine.
.PHONY: all install configure build run test bench clean format docs golden figures fuzz soak ci
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
SOAK_SEEDS ?= 1000
# The libFuzzer targets (tests/fuzz); the clang build lives in build-fuzz (preset fuzz).
FUZZ_TARGETS = fuzz_units fuzz_scenario fuzz_override fuzz_h5

all: build

install:
	@bash third_party/install.sh

build/build.ninja: | install
	cmake --preset release

configure: install
	cmake --preset release

build: install build/build.ninja
	cmake --build build -j $(JOBS)

run: build
	@mkdir -p runs
	build/ledgerfl run scenarios/quickstart.toml --force -o runs/quickstart.h5

test: build
	cd build && ctest --output-on-failure -j $(JOBS)

# libFuzzer: build the fuzz targets with clang (ASan + UBSan) and run each for FUZZ_SECONDS.
# A crash, leak, timeout or OOM fails and leaves its reproducer in build-fuzz/fuzz-artifacts/.
fuzz:
	@bash third_party/install.sh packages.txt packages-ci.txt
	cmake --preset fuzz >/dev/null
	cmake --build build-fuzz -j $(JOBS) --target $(FUZZ_TARGETS)
	bash tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

# BFT safety and liveness over SOAK_SEEDS random worlds (equivocators, delays, healing partitions).
soak: install build/build.ninja
	cmake --build build -j $(JOBS) --target bft_soak
	build/tests/chain/bft_soak 1 $(SOAK_SEEDS)

# Everything CI runs (.ci/run): tests, fuzzing, ASan + UBSan suite, TSan parallel tests.
ci:
	bash .ci/run

bench: build
	bash bench/run_all.sh

# Re-run every figure claimed in a scenario header or the README ('# figure:' lines), print
# claimed vs obtained, fail on a mismatch beyond the stated tolerance. `make test` runs the
# claims marked 'fast'. FIGURES_ARGS='--only chain' narrows it; see analysis/figures.py.
figures: build
	/usr/bin/python3 analysis/figures.py -j $(JOBS) $(FIGURES_ARGS)

# Regenerate the README's component reference from the registries.
docs: build
	bash tests/cli/readme_reference.sh build/ledgerfl README.md --update

# Regenerate the golden curves after an intended change of results (review the diff of figures!).
golden: build
	@for s in quickstart; do \
	  build/ledgerfl run scenarios/$$s.toml -q --force -o scenarios/golden/$$s.h5 && echo "scenarios/golden/$$s.h5"; \
	done

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build build-debug build-asan build-tsan build-fuzz
