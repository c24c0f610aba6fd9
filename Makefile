# The two commands a newcomer needs: `make serve` and `make test`.
# Both create .venv and install what they need on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Where `make serve` listens: `make serve PORT=9000 HOST=0.0.0.0`.
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: serve test bench bench-quick lint validate clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/loyalty validate rules/
	$(VENV)/bin/loyalty serve --host $(HOST) --port $(PORT)

# The console's browser tests drive Debian's chromium (and need a CJK font to render Chinese).
test: $(STAMP)
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

# Each benchmark prints one table: figures beside baselines measured in the same run.
# The full run takes long (1,000,000-row jobs); bench-quick gives the same tables smaller.
bench: $(STAMP)
	$(PY) -m bench
	$(PY) -m bench.rules_scale
	$(PY) -m bench.ledger
	$(PY) -m bench.http
	$(PY) -m bench.campaigns
	$(PY) -m bench.outreach
	$(PY) -m bench.backtest

bench-quick: $(STAMP)
	$(PY) -m bench --quick
	$(PY) -m bench.rules_scale --rounds 3 --seconds 0.3
	$(PY) -m bench.ledger --quick
	$(PY) -m bench.http --seconds 5 --warmup 1
	$(PY) -m bench.campaigns --quick
	$(PY) -m bench.outreach --quick
	$(PY) -m bench.backtest --quick

validate: $(STAMP)
	$(VENV)/bin/loyalty validate rules/

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .mypy_cache .import_linter_cache
