# ledgerfl front door. `make run` and `make test` work on a fresh Debian 12 machine.
.PHONY: all install configure build run test bench clean format docs golden figures
JOBS ?= $(shell nproc)

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
	rm -rf build build-debug build-asan build-tsan
