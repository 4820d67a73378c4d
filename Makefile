# Two commands do all the set-up on a fresh machine with only Python 3:
#   make demo   - create .venv if missing, install, run the main job
#   make test   - create .venv if missing, install, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test test-cpu test-doc test-cache test-cuda test-bench test-boundscheck bench asv lint typecheck clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,bench,demo,fast,dev,dask]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m numbaconv demo

test: lint test-cache test-cpu test-doc test-boundscheck test-cuda test-bench

# One Numba cache for the suites of a `make test`: test-cache compiles the whole public API
# into it from empty (what it tests), and the suites after it load those kernels instead of
# compiling them a second time (a cold CI run on 2 Zen 3 cores: 21 minutes with the suites
# compiling into the package's own __pycache__; a warm CPU suite takes 2 of its 9 minutes)
TEST_CACHE := $(abspath $(VENV))/numba-cache-tests

# Most of a cold run is Numba compiling kernels, one at a time per process: pytest-xdist runs
# the tests in $(JOBS) processes, each starting on its own contiguous half of the suite (so a
# file's kernels mostly compile in one process) and taking over work from the other when idle.
# The processes share Numba's on-disk cache, which writes every entry atomically.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
XDIST := -n $(JOBS) --dist worksteal

# (1) the CPU suite
test-cpu: $(STAMP)
	NUMBA_CACHE_DIR=$(TEST_CACHE) $(BIN)/python -m pytest -q -p no:cacheprovider $(XDIST) tests --ignore=tests/cuda \
		--ignore=tests/cache

# (1a) every example in the docstrings runs and prints what it shows
test-doc: $(STAMP)
	NUMBA_CACHE_DIR=$(TEST_CACHE) $(BIN)/python -m pytest -q -p no:cacheprovider $(XDIST) --doctest-modules numbaconv

# (1b) every public function once more with Numba's bounds checks compiled in, so an
# off-by-one in a padding, stride or dilation path fails loudly instead of reading
# neighbouring memory; its own cache directory keeps unchecked machine code out
test-boundscheck: $(STAMP)
	NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR=$(VENV)/numba-cache-boundscheck HYPOTHESIS_PROFILE=dev \
		$(BIN)/python -m pytest -q -p no:cacheprovider $(XDIST) tests/test_robustness.py tests/test_padding.py

# (1c) every kernel of the public API (numbaconv.compile's calls) compiled into an empty cache
# directory, then loaded by the next process with nothing compiled, and a read-only install
# caching per user; its own step: these tests time cold compiles, one process at a time.
# The empty directory is $(TEST_CACHE), which the suites then share.
test-cache: $(STAMP)
	rm -rf $(TEST_CACHE)
	NUMBACONV_API_CACHE=$(TEST_CACHE) $(BIN)/python -m pytest -q -p no:cacheprovider tests/cache

# (2) the CUDA kernels: on a real GPU when one is present, else under the simulator (whose
# runs load the CPU kernels they compare against from $(TEST_CACHE): 90 -> ~35 s)
test-cuda: $(STAMP)
	@if $(BIN)/python -c "from numba import cuda; raise SystemExit(not cuda.is_available())" 2>/dev/null; then \
		echo "CUDA GPU found: running tests/cuda on the device"; \
		$(BIN)/python -m pytest -q -p no:cacheprovider tests/cuda; \
	else \
		echo "no CUDA GPU: running tests/cuda under the numba CUDA simulator"; \
		NUMBA_CACHE_DIR=$(TEST_CACHE) NUMBA_ENABLE_CUDASIM=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/cuda; \
	fi

# (3) the asv benchmarks import and parse; then one small benchmark end to end as documented
# (asv machine, asv run --python=same, asv publish), in a throw-away copy of asv.conf.json: its
# own HOME (asv's ~/.asv-machine.json), results and html folders, and the checked-out commit
# as the branch to publish, so it leaves the developer's .asv/ and machine file alone
ASV_SMOKE ?= Overhead.time_op.*relu 16 f32.*numbaconv
test-bench: $(STAMP)
	$(BIN)/asv check --python=same
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(BIN)/python -c "import json, os, sys; c = json.load(open('asv.conf.json')); t = sys.argv[1]; \
		c.update(repo=os.getcwd(), benchmark_dir=os.path.abspath(c['benchmark_dir']), branches=['HEAD'], \
		env_dir=t + '/env', results_dir=t + '/results', html_dir=t + '/html'); \
		json.dump(c, open(t + '/asv.conf.json', 'w'))" "$$tmp" && \
	HOME=$$tmp $(BIN)/asv machine --yes > /dev/null && \
	HOME=$$tmp $(BIN)/asv --config $$tmp/asv.conf.json run --python=same --quick --show-stderr \
		--set-commit-hash HEAD --bench '$(ASV_SMOKE)' && \
	HOME=$$tmp $(BIN)/asv --config $$tmp/asv.conf.json publish > /dev/null && \
	test -n "$$(find $$tmp/html/graphs -name 'bench_overhead.Overhead.time_op.json')" && \
	echo "asv: one benchmark run, recorded and published"

bench: $(STAMP)
	$(BIN)/python -m numbaconv bench

# the asv suite on this checkout in the current environment, recorded for HEAD, then the
# HTML report (.asv/html; `asv preview` serves it). asv needs a description of the machine
# before its first run: `asv machine --yes` detects it, and the CPU line is replaced by the
# benchmark header's (model, vector ISA, Numba's LLVM target). ASVFLAGS="--bench Overhead"
# (a regular expression) runs a part of the suite.
ASVFLAGS ?=
asv: $(STAMP)
	$(BIN)/asv machine --yes > /dev/null
	$(BIN)/asv machine --cpu "$$($(BIN)/python -m numbaconv.bench.machine --asv-cpu)" > /dev/null
	$(BIN)/asv run --python=same --set-commit-hash HEAD $(ASVFLAGS)
	$(BIN)/asv publish

lint: $(STAMP) typecheck
	$(BIN)/ruff check numbaconv tests benchmarks examples

# pyright over the package and tests/typing/public_api.py, which calls every public name as a
# user would ([tool.pyright] in pyproject.toml; docs/architecture.md, "Types"); pyright runs
# on Node.js (on PATH, else the pyright package fetches one on first use)
typecheck: $(STAMP)
	$(BIN)/pyright

clean:
	rm -rf $(VENV) .asv build *.egg-info
