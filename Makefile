# Quick start: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test bench bench-quick samples clean

# editable_mode=compat puts the repository on sys.path with a plain .pth
# line; the default import hook costs every imgq call several milliseconds.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e . --config-settings editable_mode=compat
	touch $(STAMP)

# The tests also need pytest, numpy, Dask and the build tools.
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	touch $(TEST_STAMP)

demo: $(STAMP)
	rm -rf out
	$(BIN)/imgq run sample_images -o out --op auto-orient --op 'resize=800x800>' --progress
	@echo "Outputs are in out/"

test: $(TEST_STAMP)
	$(BIN)/python -m pytest

# imgp is a competitor in the benchmark, not a dependency of imgq.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	benchmarks/install_tools.sh
	$(BIN)/python -m pip install --quiet imgp \
		|| echo "bench: pip could not install imgp; it will be listed as missing" >&2
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py

bench-quick: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py --quick

samples: $(STAMP)
	$(BIN)/python sample_images/make_samples.py

clean:
	rm -rf $(VENV) out build dist *.egg-info
