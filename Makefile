# Two commands set up everything: `make demo` and `make test`. Each creates .venv if needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# CPU-friendly defaults for this repository's own commands; users on GPUs run `gancraft` directly.
export OMP_NUM_THREADS ?= 2

.PHONY: setup demo demo-styles test test-all bench bench-gpu clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch and torchvision pinned to the builds this project is tested with
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m gancraft.demo

# StarGAN v2 glasses styles on the CPU recipe: runs/demo-styles/report.html
demo-styles: $(STAMP)
	$(BIN)/python -m gancraft.demo_styles

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks --benchmark-enable --benchmark-json=benchmarks/results/cpu.json -q

bench-gpu: $(STAMP)
	bash benchmarks/gpu.sh

clean:
	rm -rf $(VENV) runs .pytest_cache .benchmarks
