# The two commands: `make run` and `make test`. Everything else here serves them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
PORT ?= 8000
HOST ?= 127.0.0.1
WEB_WORKERS ?= 2
# Threads per web process (dlcv_site.front: gunicorn's asgi worker reads request bodies on its event
# loop, so a stalled upload holds no thread; the request then runs in one of these). The exam load
# (make bench) runs 3 processes × 4 threads of this server on 2 cores.
WEB_THREADS ?= 4
GRADER_CONCURRENCY ?= 2
# Numeric gradings take milliseconds: each worker process reserves a few messages ahead (late acks,
# so a dead worker's reservations are delivered again), which saves a broker round trip per task.
NUMERIC_PREFETCH ?= 4
# Coding labs: their own worker, one job at a time per process (prefetch 1), each in the sandbox.
CODE_CONCURRENCY ?= 1

.PHONY: run test lint web worker code-worker beat setup bench clean messages sandbox-runtime

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is needed, found {sys.version}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Stamps keep a second run from reinstalling; they change when the requirement files change.
$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.test-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

# The sandbox's own Python (var/sandbox): the interpreter's standard library, numpy, and numpy+torch,
# as hard links into the virtualenv (a few seconds once; a few metadata reads when already built).
# (After the dependencies in each target that lists it: it reads the installed numpy and torch.)
sandbox-runtime: | $(BIN)/python
	$(BIN)/python -m grader.sandbox.runtime build

setup: $(VENV)/.run-deps sandbox-runtime
	$(MANAGE) migrate --noinput
	$(MANAGE) collectstatic --noinput -v0
	$(MANAGE) load_bank
	$(MANAGE) seed_demo
	$(MANAGE) seed_mock_exams
	$(MANAGE) load_labs --course dlcv-demo

## make run: install, migrate, load the bank, start the grader worker and the web server.
# Stopping (Ctrl-C, or SIGTERM to make, which make passes on to this shell): the shell waits in
# `wait`, where a trap runs at once (not only after a foreground command ends). It sends SIGTERM to
# the three processes, gives them STOP_GRACE seconds (gunicorn ends at once; a celery worker's warm
# shutdown takes ~8 s even when idle with the embedded broker, whose loop polls every 2 s), then
# kills what is left. Each runs in a process group of its own (setsid), so that kill reaches their
# children too (the worker's pool and beat, gunicorn's workers). A task cut short is delivered again
# with Redis (late acks). One of the three ending on its own stops the others as well.
STOP_GRACE ?= 6
run: setup
	@echo "Starting the grader workers and the web server on http://$(HOST):$(PORT)/ (Ctrl-C stops all)"
	@pids=""; \
	stop() { trap - EXIT INT TERM; kill -TERM $$pids 2>/dev/null; groups=$$(printf -- ' -%s' $$pids); \
	    for _ in $$(seq $$(( $(STOP_GRACE) * 10 ))); do kill -0 -- $$groups 2>/dev/null || return 0; sleep 0.1; done; \
	    echo "Still running $(STOP_GRACE) s after the stop: killed"; kill -KILL -- $$groups 2>/dev/null; return 0; }; \
	trap stop EXIT INT TERM; \
	setsid $(BIN)/celery -A dlcv_site worker -B -Q numeric -c $(GRADER_CONCURRENCY) --prefetch-multiplier $(NUMERIC_PREFETCH) -n numeric@%h -l warning \
	    --schedule var/celerybeat-schedule & pids="$$pids $$!"; \
	setsid $(BIN)/celery -A dlcv_site worker -Q code -c $(CODE_CONCURRENCY) --prefetch-multiplier 1 -n code@%h \
	    -l warning & pids="$$pids $$!"; \
	echo "Open http://$(HOST):$(PORT)/   health: http://$(HOST):$(PORT)/healthz"; \
	if [ -z "$$EMAIL_URL" ]; then echo "Email (invitations, password resets): one file per message in $${DLCV_VAR_DIR:-$(CURDIR)/var}/mail/ (set EMAIL_URL=smtp://… to send)"; fi; \
	WEB_THREADS=$(WEB_THREADS) setsid $(BIN)/gunicorn dlcv_site.front -k asgi -c python:dlcv_site.gunicorn_conf \
	    -b $(HOST):$(PORT) -w $(WEB_WORKERS) --access-logfile - & pids="$$pids $$!"; \
	wait -n

## Separate processes, for running on several machines (DATABASE_URL and REDIS_URL set).
web: setup
	WEB_THREADS=$(WEB_THREADS) $(BIN)/gunicorn dlcv_site.front -k asgi -c python:dlcv_site.gunicorn_conf \
	    -b $(HOST):$(PORT) -w $(WEB_WORKERS) --access-logfile -

worker: $(VENV)/.run-deps
	$(BIN)/celery -A dlcv_site worker -Q numeric -c $(GRADER_CONCURRENCY) --prefetch-multiplier $(NUMERIC_PREFETCH) -n numeric@%h -l info

# Needs bubblewrap (apt-get install bubblewrap); student code never runs outside it.
code-worker: $(VENV)/.run-deps sandbox-runtime
	$(BIN)/celery -A dlcv_site worker -Q code -c $(CODE_CONCURRENCY) --prefetch-multiplier 1 -n code@%h -l info

# Exactly one beat process per deployment: it submits overdue exam attempts every 15 s.
beat: $(VENV)/.run-deps
	$(BIN)/celery -A dlcv_site beat -l info --schedule var/celerybeat-schedule

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .

## make test: the same set-up, lint, then the whole suite.
test: $(VENV)/.test-deps lint sandbox-runtime
	$(MANAGE) collectstatic --noinput -v0
	$(BIN)/pytest

## make messages (maintainers): refresh the two catalogs from the sources and compile them (the .mo files
## are committed, so other machines need no tools): the apps' locale/zh_Hant/LC_MESSAGES/django.po (Django's
## makemessages, needs GNU gettext) and the grader core's grader/locale/zh_Hant/LC_MESSAGES/grader.po
## (python -m grader.catalogs, Babel). Translate the new or fuzzy entries in the .po files, then run it again.
messages: $(VENV)/.test-deps
	@command -v xgettext >/dev/null && command -v msgfmt >/dev/null || \
	    { echo "GNU gettext is needed for make messages (e.g. apt-get install gettext)"; exit 1; }
	$(MANAGE) makemessages -l zh_Hant --ignore=.venv --ignore=var --ignore=node_modules --ignore=grader
	$(MANAGE) compilemessages -l zh_Hant --ignore=.venv --ignore=var --ignore=node_modules --ignore=grader
	$(BIN)/python -m grader.catalogs update

# The lab and exam load runs measure the production set-up, PostgreSQL and Redis (the lab bench
# makes a scratch database next to this one; the exam load drops and recreates it: a bench-only name).
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dlcv_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/5
BENCH_CACHE_URL ?= redis://127.0.0.1:6379/9

# The exam load's gunicorn serves var/static like make run's: collected first (WhiteNoise warns
# "No directory at: var/static/" on a fresh clone otherwise).
bench: $(VENV)/.test-deps
	$(MANAGE) collectstatic --noinput -v0
	$(BIN)/python -m grader.bench
	$(BIN)/python -m grader.item_analysis_bench
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(BIN)/python -m labs.bench --prefetch $(NUMERIC_PREFETCH)
	$(BIN)/python -m grader.sandbox.bench
	DATABASE_URL=$(BENCH_DATABASE_URL) CACHE_URL=$(BENCH_CACHE_URL) $(BIN)/python -m quizzes.bench.item_analysis_page
	$(BIN)/python -m dlcv_site.bench_stalled
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python -m accounts.bench --students 1000
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python -m grades.bench --students 200
	DATABASE_URL=$(BENCH_DATABASE_URL) CACHE_URL=$(BENCH_CACHE_URL) $(BIN)/python -m progress.bench --students 500
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(BIN)/python -m lti.bench --scores 2000 --launches 200
	for students in 500 2000; do \
	    DATABASE_URL=$(BENCH_DATABASE_URL) CACHE_URL=$(BENCH_CACHE_URL) \
	        $(BIN)/python -m quizzes.bench.exam_load --students $$students --start-window 60 --save-rounds 4 \
	            --worker-class asgi || exit 1; \
	done

clean:
	rm -rf var/ .pytest_cache .ruff_cache
