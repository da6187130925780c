# Two commands for a new user: `make demo` and `make test` (both set up what they need).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ICEBERG_JAR_PACKAGE := snowpark-connect-deps-iceberg==1.0.2
export PYTHONPATH := $(CURDIR):$(CURDIR)/plugins
export TQDM_DISABLE := 1
# Demo-only HMAC key for PII hashing. Production: a secret (see README).
export PII_HASH_KEY ?= demo-only-key-not-for-production

DEMO_TOPICS ?= orders payments
DEMO_BATCHES ?= 3
DEMO_ROWS ?= 2000

.PHONY: setup java demo demo-job demo-reset test test-fast lint typecheck emr-package clean

setup: java $(STAMP)

java:
	@if ! command -v java >/dev/null 2>&1; then \
	  echo "Java not found: installing OpenJDK 17 (Spark 3.5 needs Java 8/11/17)"; \
	  if command -v apt-get >/dev/null 2>&1; then \
	    $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq openjdk-17-jre-headless; \
	  else echo "Please install Java 17 (e.g. brew install openjdk@17) and re-run"; exit 1; fi; \
	fi

$(STAMP): requirements.txt requirements-dev.txt spark_jobs/requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install -q --no-deps $(ICEBERG_JAR_PACKAGE)
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check spark_jobs demo

typecheck: setup
	$(BIN)/mypy spark_jobs demo

test: setup lint typecheck
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not spark and not airflow_e2e and not slow"

demo-job: setup
	@for topic in $(DEMO_TOPICS); do \
	  $(BIN)/python -m demo.generate_raw --topic $$topic --batches $(DEMO_BATCHES) --rows-per-batch $(DEMO_ROWS) --seed 7 || exit 1; \
	  $(BIN)/python -m spark_jobs.unified_job --topic $$topic --run-report lakehouse/reports/$$topic-latest.json || exit 1; \
	done

demo: demo-job

demo-reset:
	rm -rf lakehouse

emr-package: setup
	rm -rf build/emr && mkdir -p build/emr
	cd $(CURDIR) && zip -qr build/emr/spark_jobs.zip spark_jobs -x '*/__pycache__/*'
	cp spark_jobs/entrypoint.py build/emr/entrypoint.py
	$(BIN)/python -m venv --copies build/emr/venv
	build/emr/venv/bin/pip install -q venv-pack -r spark_jobs/requirements.txt
	cd build/emr && venv/bin/venv-pack -q -o pyspark_deps.tar.gz -p venv
	@echo "Upload build/emr/{entrypoint.py,spark_jobs.zip,pyspark_deps.tar.gz} to the topic's code_uri (see docs/AIRFLOW.md)"

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
