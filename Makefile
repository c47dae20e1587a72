# make demo   - start local stand-in registries, promote a multi-platform image, show the refusal
# make test   - every test: Python (end to end against the stand-ins) and Groovy (Gradle)
# make bench  - the benchmark (docs/BENCHMARKS.md)
# make reliability - the fault, concurrency and abort tests alone, refreshing docs/RELIABILITY.md
# make standins - keep the demo's stand-in registries running to try the command by hand

SHELL := /bin/bash
PYTHON := .venv/bin/python
TOOLS_ENV := PATH="$(CURDIR)/.tools/bin:$(CURDIR)/.venv/bin:$$PATH" CRANE="$(CURDIR)/.tools/bin/crane"

.PHONY: setup demo standins test test-python test-groovy bench reliability clean

setup:
	@bash scripts/install-dependencies.sh

demo: setup
	@$(TOOLS_ENV) $(PYTHON) tests/demo.py

standins: setup
	@$(TOOLS_ENV) $(PYTHON) tests/standins_shell.py

test: setup test-python test-groovy

test-python:
	$(TOOLS_ENV) $(PYTHON) -m pytest

test-groovy:
	gradle --no-daemon --console=plain cleanTest test

reliability: setup
	UPDATE_EVIDENCE=1 $(TOOLS_ENV) $(PYTHON) -m pytest \
		tests/python/test_faults.py tests/python/test_concurrency_and_signals.py

bench: setup
	@bash scripts/install-bench-tools.sh
	@PATH="$(CURDIR)/.tools/bench-venv/bin:$(CURDIR)/.tools/bin:$$PATH" CRANE="$(CURDIR)/.tools/bin/crane" \
		$(PYTHON) tests/bench.py $(BENCH_ARGS)

clean:
	rm -rf .venv .tools build .gradle .pytest_cache
