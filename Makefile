# ledgerfl front door. `make run` and `make test` work on a fresh Debian 12 machine.
.PHONY: all install configure build run test bench clean format
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
	build/ledgerfl run scenarios/quickstart.toml -o runs/quickstart.h5

test: build
	cd build && ctest --output-on-failure -j $(JOBS)

bench: build
	bash bench/run_all.sh

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build build-debug build-asan build-tsan
