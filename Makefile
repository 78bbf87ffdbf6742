# Drop Copy Manager — `make run` starts the product, `make test` runs the test suite.
# Every target may be run again at any time: each does only what is missing.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
REQUIREMENTS_STAMP := $(VENV)/.requirements.sha256
ADDRESS ?= 127.0.0.1:8000
MACHINE_DATABASE_URL := postgres://postgres@127.0.0.1:5432/dropcopy
EMBEDDED_POSTGRES := $(BIN)/python -m dropcopy_admin.embedded_postgres
DEMO_USERS := am client clearing finance
DEMO_PASSWORD := dropcopy-demo
PYTEST_ARGS ?=
NAME ?=

# Checks the PostgreSQL server of $DATABASE_URL answers and that its role may create databases
# (pytest-django and the benchmark create theirs); grants CREATEDB as the superuser if needed.
define POSTGRES_CHECK
import os, sys
from urllib.parse import urlsplit, urlunsplit
import psycopg
url = os.environ["DATABASE_URL"]
parts = urlsplit(url)
server = urlunsplit(parts._replace(path="/postgres"))
try:
    with psycopg.connect(server, connect_timeout=5) as conn:
        role, may_create = conn.execute(
            "SELECT rolname, rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
except psycopg.OperationalError as exc:
    sys.exit(
        f"PostgreSQL is not reachable at {parts.hostname}:{parts.port or 5432} ({url}).\n"
        f"  {str(exc).strip().splitlines()[0]}\n"
        "Start it again, or unset DATABASE_URL to use the machine's or the embedded PostgreSQL."
    )
if not may_create:
    superuser = urlunsplit(parts._replace(netloc=f"postgres@{parts.hostname}:{parts.port or 5432}", path="/postgres"))
    try:
        with psycopg.connect(superuser, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'ALTER ROLE "{role}" CREATEDB')
    except psycopg.Error as exc:
        sys.exit(f'Role "{role}" may not create databases; as a superuser run: ALTER ROLE "{role}" CREATEDB;\n  {exc}')
    print(f'Granted CREATEDB to role "{role}".')
endef
export POSTGRES_CHECK

.PHONY: help venv run test crawl lint bench check-deploy chromium redis axe

help:
	@echo "make run           start the product on http://$(ADDRESS)/ (embedded PostgreSQL unless DATABASE_URL is set)"
	echo "make test          run the test suite on PostgreSQL: DATABASE_URL, else the machine's, else the embedded one"
	echo "make crawl         every page for every demo login, on make run's configuration (embedded PostgreSQL)"
	echo "make serve         the production topology (Procfile under honcho): gunicorn, Celery workers, beat, two gateways"
	echo "make lint          ruff check and ruff format --check"
	echo "make bench         run every benchmark; make bench NAME=import runs one"
	echo "make check-deploy  Django's deployment checks on the production settings"

# The virtualenv, with requirements.txt installed again only when its content changed.
venv:
	@if [ ! -x $(BIN)/python ]; then
	  echo "Creating $(VENV) with $(PYTHON)"
	  $(PYTHON) -m venv $(VENV)
	fi
	wanted=$$(sha256sum requirements.txt | cut -d' ' -f1)
	if [ "$$(cat $(REQUIREMENTS_STAMP) 2>/dev/null)" != "$$wanted" ]; then
	  echo "Installing requirements.txt into $(VENV)"
	  $(BIN)/python -m pip install --quiet --upgrade pip
	  $(BIN)/python -m pip install --quiet -r requirements.txt
	  echo "$$wanted" > $(REQUIREMENTS_STAMP)
	fi

run: venv
	@export DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-dropcopy_admin.settings.local}
	background=()
	embedded=""
	stop_background() {
	  for pid in "$${background[@]}"; do kill "$$pid" 2>/dev/null || true; done
	  wait 2>/dev/null || true
	  if [ -n "$$embedded" ]; then $(EMBEDDED_POSTGRES) stop; fi
	}
	trap stop_background EXIT
	trap 'exit 130' INT TERM
	if [ -z "$${DATABASE_URL:-}" ]; then
	  echo "Database: embedded PostgreSQL 18, data under var/postgres (set DATABASE_URL for another server)"
	  $(EMBEDDED_POSTGRES) start >/dev/null
	  embedded=1
	fi
	$(MANAGE) migrate --noinput
	$(MANAGE) collectstatic --noinput --verbosity 0
	$(MANAGE) seed_demo
	if [ -n "$${DATABASE_URL:-}" ] && [ -n "$${CELERY_BROKER_URL:-}" ]; then
	  echo "Tasks: Celery worker and beat on $${CELERY_BROKER_URL}"
	  $(BIN)/celery -A dropcopy_admin worker --loglevel INFO & background+=($$!)
	  $(BIN)/celery -A dropcopy_admin beat --loglevel INFO & background+=($$!)
	else
	  echo "Tasks: run in-process (set DATABASE_URL and CELERY_BROKER_URL for a Celery worker and beat)"
	fi
	echo "Drop copy gateway: manage.py run_gateway"
	$(MANAGE) run_gateway & background+=($$!)
	# The demo's live targets are checked once the gateway serves them, so the first view is true.
	$(MANAGE) verify_targets --when-served --timeout 30
	echo
	echo "Drop Copy Manager on http://$(ADDRESS)/"
	echo "  admin  http://$(ADDRESS)/admin/   (account managers, finance)"
	echo "  portal http://$(ADDRESS)/portal/  (approval queue; certifications and test targets; live temporary targets)"
	echo "  API    http://$(ADDRESS)/api/v1/"
	echo "  docs   http://$(ADDRESS)/api/v1/docs/"
	echo "Demo logins (password $(DEMO_PASSWORD)): am (account manager), client, clearing (clearing firm), finance"
	echo
	# The development server's own warning is hidden: make run is the local demo, `make check-deploy`
	# and settings/production.py are the deployment.
	DJANGO_RUNSERVER_HIDE_WARNING=true $(MANAGE) runserver $(ADDRESS)

# The browser tests (tests/browser/) drive Debian's chromium; install it only when it is missing.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo
	  echo "Installing chromium for the browser tests: $$sudo apt-get update && $$sudo apt-get install -y chromium"
	  $$sudo apt-get update
	  $$sudo apt-get install -y chromium
	fi

# axe-core, the accessibility checker the browser tests run on every portal page: from the npm
# registry, pinned, under var/node (not committed; installed again only when missing).
AXE_VERSION := 4.14.1
axe:
	@if [ ! -f var/node/node_modules/axe-core/axe.min.js ] || \
	   [ "$$(node -p "require('./var/node/node_modules/axe-core/package.json').version" 2>/dev/null)" != "$(AXE_VERSION)" ]; then
	  echo "Installing axe-core $(AXE_VERSION) from the npm registry into var/node"
	  mkdir -p var/node
	  npm install --silent --no-audit --no-fund --prefix var/node axe-core@$(AXE_VERSION)
	fi

# Redis for the integration tests' Celery worker: the machine's when it answers, otherwise Debian's
# redis-server started here (installed when missing), kept in memory only.
redis: venv
	@if ! $(BIN)/python -c "import redis; redis.Redis(socket_connect_timeout=1).ping()" 2>/dev/null; then
	  if ! command -v redis-server >/dev/null; then
	    sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo
	    echo "Installing redis-server for the worker tests: $$sudo apt-get install -y redis-server"
	    $$sudo apt-get update
	    $$sudo apt-get install -y redis-server
	  fi
	  mkdir -p var/redis
	  echo "Starting redis-server on 127.0.0.1:6379"
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
	    --dir "$$PWD/var/redis" --logfile "$$PWD/var/redis/redis.log"
	  for _ in $$(seq 1 30); do
	    $(BIN)/python -c "import redis; redis.Redis().ping()" 2>/dev/null && break
	    sleep 0.5
	  done
	fi

# The suite runs on DATABASE_URL when it answers, else the machine's PostgreSQL at 127.0.0.1:5432,
# else the embedded server (started here and stopped again).
test: venv chromium redis axe
	@read -r url started < <($(EMBEDDED_POSTGRES) choose "$${DATABASE_URL:-}" "$(MACHINE_DATABASE_URL)")
	[ -n "$$url" ] || { echo "No PostgreSQL answered and the embedded one did not start" >&2; exit 1; }
	if [ "$$started" = started ]; then trap '$(EMBEDDED_POSTGRES) stop' EXIT; fi
	echo "Database: $$url"
	DATABASE_URL=$$url $(BIN)/python -c "$$POSTGRES_CHECK"
	# Plain pytest: the integration tests share one Redis broker and a real Celery worker, which
	# parallel pytest-xdist workers would contend for.
	DATABASE_URL=$$url $(BIN)/pytest -m "not crawl" $(PYTEST_ARGS)

# The crawl runs on exactly make run's configuration: local settings, the embedded PostgreSQL,
# tasks in-process, the demo data.
crawl: venv
	@read -r url started < <($(EMBEDDED_POSTGRES) choose)
	[ -n "$$url" ] || { echo "The embedded PostgreSQL did not start" >&2; exit 1; }
	if [ "$$started" = started ]; then trap '$(EMBEDDED_POSTGRES) stop' EXIT; fi
	env -u DATABASE_URL -u CELERY_BROKER_URL DJANGO_SETTINGS_MODULE=dropcopy_admin.settings.local \
	  $(MANAGE) collectstatic --noinput --verbosity 0
	env -u DATABASE_URL -u CELERY_BROKER_URL DJANGO_SETTINGS_MODULE=dropcopy_admin.settings.local \
	  $(BIN)/pytest -m crawl tests/crawl --ds=dropcopy_admin.settings.local $(PYTEST_ARGS)

lint: venv
	@$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: venv
	@read -r url started < <($(EMBEDDED_POSTGRES) choose "$${DATABASE_URL:-}" "$(MACHINE_DATABASE_URL)")
	[ -n "$$url" ] || { echo "No PostgreSQL answered and the embedded one did not start" >&2; exit 1; }
	if [ "$$started" = started ]; then trap '$(EMBEDDED_POSTGRES) stop' EXIT; fi
	DATABASE_URL=$$url $(BIN)/python -m bench.run $(NAME)

check-deploy: venv
	@DJANGO_SETTINGS_MODULE=dropcopy_admin.settings.production \
	DJANGO_SECRET_KEY=$$($(BIN)/python -c "import secrets; print(secrets.token_urlsafe(64))") \
	DJANGO_ALLOWED_HOSTS=example.com \
	DROPCOPY_KEY_ENCRYPTION_KEY=$$($(BIN)/python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())") \
	DATABASE_URL=postgres://dropcopy:unused@db.example.com:5432/dropcopy \
	$(MANAGE) check --deploy --fail-level WARNING

# --- make serve: the production topology on this machine (issue 16) ---------------------------
# Production settings on DATABASE_URL (else the machine's PostgreSQL, else the embedded one) and
# CELERY_BROKER_URL (else the machine's Redis; amqp://guest:guest@127.0.0.1:5672// for RabbitMQ);
# then the Procfile's processes under honcho: gunicorn, a prefork Celery worker, beat once, and
# two gateways splitting the addresses (GATEWAY_A_IPS: by default the gateways' primary IPs).
SERVE_STATE := var/serve
GATEWAY_PRIMARY_IPS := from dropcopy_admin.models.reference import CgwGateway, SegmentGateway; \
  print(",".join(sorted({*CgwGateway.objects.values_list("primary_ip", flat=True), *SegmentGateway.objects.values_list("primary_ip", flat=True)})))
.PHONY: serve
serve: venv redis
	@read -r url started < <($(EMBEDDED_POSTGRES) choose "$${DATABASE_URL:-}" "$(MACHINE_DATABASE_URL)")
	[ -n "$$url" ] || { echo "No PostgreSQL answered and the embedded one did not start" >&2; exit 1; }
	if [ "$$started" = started ]; then trap '$(EMBEDDED_POSTGRES) stop' EXIT; fi
	mkdir -p $(SERVE_STATE)
	[ -s $(SERVE_STATE)/key_encryption_key ] || $(BIN)/python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" > $(SERVE_STATE)/key_encryption_key
	[ -s $(SERVE_STATE)/secret_key ] || $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(64))" > $(SERVE_STATE)/secret_key
	export PATH="$$PWD/$(BIN):$$PATH" DATABASE_URL="$$url"
	export DJANGO_SETTINGS_MODULE=dropcopy_admin.settings.production
	export CELERY_BROKER_URL="$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}"
	export DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-$$(cat $(SERVE_STATE)/secret_key)}"
	export DROPCOPY_KEY_ENCRYPTION_KEY="$${DROPCOPY_KEY_ENCRYPTION_KEY:-$$(cat $(SERVE_STATE)/key_encryption_key)}"
	export DJANGO_ALLOWED_HOSTS="$${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost}"
	# Plain HTTP on 127.0.0.1 here; behind the TLS load balancer these stay on.
	export DJANGO_SECURE_SSL_REDIRECT="$${DJANGO_SECURE_SSL_REDIRECT:-false}"
	export DROPCOPY_EXPECTED_GATEWAYS="$${DROPCOPY_EXPECTED_GATEWAYS:-2}"
	export PROMETHEUS_DIR="$${PROMETHEUS_DIR:-$$PWD/$(SERVE_STATE)/prometheus}"
	echo "Database: $$url; broker: $$CELERY_BROKER_URL"
	$(MANAGE) migrate --noinput
	$(MANAGE) collectstatic --noinput --verbosity 0
	if [ -z "$${GATEWAY_A_IPS:-}" ]; then GATEWAY_A_IPS=$$($(MANAGE) shell --no-imports -c '$(GATEWAY_PRIMARY_IPS)'); fi
	# An empty --only would serve every address twice: 0.0.0.0 (no target's) keeps the split.
	export GATEWAY_A_IPS="$${GATEWAY_A_IPS:-0.0.0.0}"
	echo "Gateway a serves $$GATEWAY_A_IPS; gateway b every other address"
	$(BIN)/honcho start -f Procfile
