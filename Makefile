# One entry point. `make lab` opens the lessons, `make test` runs every test; both set up
# the virtual environment first (.venv, with the CPU build of torch unless a GPU is present).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: setup lab run test unit notebooks lint bench clean

$(VENV)/.ready: pyproject.toml scripts/install_torch.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	bash scripts/install_torch.sh $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[lab,dev]"
	touch $@

setup: $(VENV)/.ready

lab: setup  ## the lessons in JupyterLab
	$(BIN)/jupyter lab notebooks/

run: setup  ## headless: a random search on iris, printed as a leaderboard
	$(BIN)/amsearch-lab search --task iris --strategy random --budget 30 --seed 0

test: setup  ## unit tests, then every notebook under nbval in quick mode
	$(BIN)/python -m pytest tests
	AMSEARCH_QUICK=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env notebooks

unit: setup
	$(BIN)/python -m pytest tests

notebooks: setup
	AMSEARCH_QUICK=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env notebooks

lint: setup
	$(BIN)/ruff check amsearch_lab tests datasets

clean:
	rm -rf $(VENV) .pytest_cache runs
