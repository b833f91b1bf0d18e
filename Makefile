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
	$(BIN)/python -m pip install --quiet -e ".[lab,dev,parallel]"
	touch $@

setup: $(VENV)/.ready

# `make lab` first trusts the shipped notebooks (an untrusted notebook shows its stored widget
# outputs as text, "VBox(children=(..."), and runs JupyterLab with --allow-root as root (a
# container), where it refuses to start without it
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup  ## the lessons in JupyterLab
	find notebooks -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' -exec $(BIN)/jupyter trust {} +
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks/

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
