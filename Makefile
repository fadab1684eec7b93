# The two quickstart commands: `make demo` and `make test` (see README).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup postgres redis

$(BIN)/newsmon: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

setup: $(BIN)/newsmon

# Crawl the bundled local news site into newsmon-demo.db and show what was found.
demo: setup
	$(BIN)/newsmon demo

# Debian's PostgreSQL server: the tests start their own throw-away instance on 127.0.0.1.
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; else \
	  echo "installing Debian's postgresql (the tests start it on loopback)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

# Debian's Redis server: the scale-out tests start their own on loopback as Celery's broker.
redis:
	@if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then :; else \
	  echo "installing Debian's redis-server (the scale-out tests start it on loopback)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	fi

test: postgres redis setup
	NEWSMON_REQUIRE_PG=1 NEWSMON_REQUIRE_REDIS=1 $(BIN)/pytest -q -n 3 --dist loadgroup
