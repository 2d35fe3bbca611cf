# comp-study: two commands on a fresh machine
#   make report   regenerate every figure and table under reports/
#   make test     lint, unit tests and the notebooks (nbval, smoke profile)
# Both create or reuse .venv (python3 -m venv + pip) with the package and its dev extras.

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
PROFILE ?= default
KERNEL  := comp-study
STAMP   := $(VENV)/.installed

.PHONY: venv test lint format report benchmarks mutation data lab sync clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))"
	touch $(STAMP)

# The notebooks that nbval runs at the smoke profile write their tables and figures
# into $(TEST_REPORTS), not into the committed reports/ (unless COMP_LIB_REPORTS is set).
TEST_REPORTS ?= $(CURDIR)/.test-reports

test: venv
	$(BIN)/ruff check comp_lib tests benchmarks notebooks/*.py
	COMP_LIB_REPORTS="$${COMP_LIB_REPORTS:-$(TEST_REPORTS)}" \
		$(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env

lint: venv
	$(BIN)/ruff check comp_lib tests benchmarks notebooks/*.py
	$(BIN)/ruff format --check comp_lib tests benchmarks notebooks/*.py

format: venv
	$(BIN)/ruff format comp_lib tests benchmarks notebooks/*.py
	$(BIN)/ruff check --fix comp_lib tests benchmarks notebooks/*.py

# Run every numbered notebook in order with papermill under params/$(PROFILE).yaml.
report: venv
	$(BIN)/python -m comp_lib.pipeline --profile $(PROFILE)

# Every benchmark but the mutation testing (tens of minutes: `make mutation`).
benchmarks: venv
	for b in benchmarks/[a-z]*.py; do \
		[ "$$b" = benchmarks/mutation.py ] || $(BIN)/python $$b || exit 1; done

# Plant one small bug at a time in the study's core and count the ones no test catches:
# reports/tables/mutation.md (per module) and mutation_survivors.md. Not run by CI.
mutation: venv
	$(BIN)/python benchmarks/mutation.py

# Download every dataset from its public source into $$COMP_LIB_DATA (or ./data),
# checked against the sha256 manifests in comp_lib/data/manifests.
data: venv
	$(BIN)/python -m comp_lib.data fetch

lab: venv
	$(BIN)/jupyter lab notebooks

# Re-pair notebooks after editing either side (the .py is what gets reviewed).
sync: venv
	$(BIN)/jupytext --sync notebooks/[0-9][0-9]_*.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache reports/notebooks
