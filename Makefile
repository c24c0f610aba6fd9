# The two commands a newcomer needs: `make serve` and `make test`.
# Both create .venv and install what they need on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: serve test bench lint validate clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/loyalty validate rules/
	$(VENV)/bin/loyalty serve --host 127.0.0.1 --port 8080

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bench

validate: $(STAMP)
	$(VENV)/bin/loyalty validate rules/

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
