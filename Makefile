# The two commands of the README: `make run` and `make test`. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config.toml

.PHONY: run test bench lint migrate services browser mailserver clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/otklik --config $(CONFIG) migrate

run: migrate
	$(BIN)/otklik --config $(CONFIG) serve

# PostgreSQL and Redis for the tests: started when not already running.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
	@redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	@for i in $$(seq 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 1; done

# Debian's Chromium for the browser tests (never a downloaded browser build).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# Debian's dovecot for the email tests (they start their own in a throw-away folder).
mailserver:
	@test -x /usr/sbin/dovecot || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP) services browser mailserver lint
	$(BIN)/pytest -q

bench: $(STAMP) services
	$(BIN)/python bench/inbound.py
	$(BIN)/python bench/telegram.py
	$(BIN)/python bench/telegram_shared.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/delays.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/sla.py

clean:
	rm -rf $(VENV) var .pytest_cache
