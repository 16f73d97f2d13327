# The project's entry points. `make demo` and `make test` work on a fresh clone: each creates
# the virtualenv it needs; `make test` also makes sure a PostgreSQL server can be started.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint postgres lab bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/cmrunbook sandbox --scenario demo -- $(BIN)/cmrunbook run campaign_status

postgres:
	@if command -v postgres >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then \
	  exit 0; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's postgresql package (the tests start their own server)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null \
	    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }; \
	else \
	  echo "The tests need a PostgreSQL server (initdb, postgres, pg_dump, pg_restore)."; \
	  echo "Install it first, e.g. 'sudo apt-get install postgresql' or 'conda install postgresql',"; \
	  echo "then run 'make test' again."; \
	  exit 1; \
	fi

lint: $(BIN)/.installed
	$(BIN)/ruff check cmrunbook tests bench
	$(BIN)/ruff format --check cmrunbook tests bench

test: $(BIN)/.installed postgres lint
	$(BIN)/python -m pytest

# JupyterLab gets a virtualenv of its own: it pulls in rfc3987-syntax, whose import alone
# costs about a second to every papermill run in the environment that holds it.
LAB_VENV ?= .venv-lab

$(LAB_VENV)/bin/.installed: pyproject.toml
	$(PYTHON) -m venv $(LAB_VENV)
	$(LAB_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LAB_VENV)/bin/python -m pip install --quiet -e '.[lab]'
	touch $@

lab: $(LAB_VENV)/bin/.installed
	$(LAB_VENV)/bin/cmrunbook sandbox --scenario demo -- $(LAB_VENV)/bin/jupyter lab notebooks/

bench: $(BIN)/.installed postgres
	$(BIN)/python bench/status_scale.py

clean:
	rm -rf $(VENV) $(LAB_VENV) runs .pytest_cache
