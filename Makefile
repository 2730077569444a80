# Two commands do all set-up on a fresh machine:
#   make demo   installs into .venv and runs the default emulation (hetero SoC, DS3 job mix, HEFT)
#   make test   installs into .venv and runs the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# CPU build of torch first, so the range in pyproject.toml never pulls a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/soc-emu run --out results/demo

test: $(STAMP)
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) benchmarks/emu_speed.py

clean:
	rm -rf sim_build results .pytest_cache
