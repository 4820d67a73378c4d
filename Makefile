# Two commands do all the set-up on a fresh machine with only Python 3:
#   make demo   - create .venv if missing, install, run the main job
#   make test   - create .venv if missing, install, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test test-cpu test-cuda test-bench test-boundscheck bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,bench,demo,fast,dev,dask]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m numbaconv demo

test: lint test-cpu test-boundscheck test-cuda test-bench

# Most of a cold run is Numba compiling kernels, one at a time per process: pytest-xdist runs
# the tests in $(JOBS) processes, each starting on its own contiguous half of the suite (so a
# file's kernels mostly compile in one process) and taking over work from the other when idle.
# The processes share Numba's on-disk cache, which writes every entry atomically.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
XDIST := -n $(JOBS) --dist worksteal

# (1) the CPU suite
test-cpu: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider $(XDIST) tests --ignore=tests/cuda

# (1b) every public function once more with Numba's bounds checks compiled in, so an
# off-by-one in a padding, stride or dilation path fails loudly instead of reading
# neighbouring memory; its own cache directory keeps unchecked machine code out
test-boundscheck: $(STAMP)
	NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR=$(VENV)/numba-cache-boundscheck HYPOTHESIS_PROFILE=dev \
		$(BIN)/python -m pytest -q -p no:cacheprovider $(XDIST) tests/test_robustness.py tests/test_padding.py

# (2) the CUDA kernels: on a real GPU when one is present, else under the simulator
test-cuda: $(STAMP)
	@if $(BIN)/python -c "from numba import cuda; raise SystemExit(not cuda.is_available())" 2>/dev/null; then \
		echo "CUDA GPU found: running tests/cuda on the device"; \
		$(BIN)/python -m pytest -q -p no:cacheprovider tests/cuda; \
	else \
		echo "no CUDA GPU: running tests/cuda under the numba CUDA simulator"; \
		NUMBA_ENABLE_CUDASIM=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/cuda; \
	fi

# (3) the asv benchmarks still import and parse
test-bench: $(STAMP)
	$(BIN)/asv check --python=same

bench: $(STAMP)
	$(BIN)/python -m numbaconv bench

lint: $(STAMP)
	$(BIN)/ruff check numbaconv tests benchmarks examples

clean:
	rm -rf $(VENV) .asv build *.egg-info
