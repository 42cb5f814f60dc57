# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= moodstream.toml

.PHONY: demo test install assets lint format down bench clean

$(BIN)/moodstream: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/moodstream

assets: install
	$(BIN)/moodstream assets fetch

demo: assets
	-$(BIN)/moodstream down --config $(CONFIG)
	$(BIN)/moodstream up --config $(CONFIG)
	@echo
	@echo "Watch the events:   $(BIN)/moodstream watch --config $(CONFIG)"
	@echo "Pipeline status:    $(BIN)/moodstream status --config $(CONFIG)"
	@echo "Stop it:            $(BIN)/moodstream down --config $(CONFIG)"

down: install
	$(BIN)/moodstream down --config $(CONFIG)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: assets lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: assets
	$(BIN)/moodstream bench --cameras 4 --seconds 30 --fps 15

clean:
	rm -rf $(VENV) .moodstream build *.egg-info
