# Two commands for a new user: `make demo` and `make test` (both set up what they need).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UDF_JAR := spark_jobs/jvm/lakehouse-unified-udfs.jar
UDF_SOURCES := $(shell find spark_jobs/jvm/src -name '*.java')
DOCS_VENDOR := spark_jobs/report/static/vendor/.fetched
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ICEBERG_JAR_PACKAGE := snowpark-connect-deps-iceberg==1.0.2
export PYTHONPATH := $(CURDIR):$(CURDIR)/plugins
export TQDM_DISABLE := 1
# Demo-only HMAC key for PII hashing. Production: a secret (see README).
export PII_HASH_KEY ?= demo-only-key-not-for-production

DEMO_TOPICS ?= orders payments
DEMO_BATCHES ?= 3
DEMO_ROWS ?= 2000

TOPIC ?= orders
AIRFLOW_HOME_DIR ?= $(CURDIR)/airflow_home
DAGS_DIR ?= $(CURDIR)/dags
# PATH: `airflow standalone` starts its components as `airflow ...` looked up on PATH.
# timeout: SQLite lets one writer at a time; the scheduler, dag-processor, triggerer,
# api-server and a CLI command (backfill create) wait up to 60 s instead of 5 for it.
AIRFLOW_ENV := PATH=$(abspath $(BIN)):$$PATH AIRFLOW_HOME=$(AIRFLOW_HOME_DIR) AIRFLOW__CORE__LOAD_EXAMPLES=False \
	AIRFLOW__CORE__DAGS_FOLDER=$(DAGS_DIR) AIRFLOW__CORE__PLUGINS_FOLDER=$(CURDIR)/plugins \
	AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$(AIRFLOW_HOME_DIR)/airflow.db?timeout=60" \
	LAKEHOUSE_PROJECT_DIR=$(CURDIR)

.PHONY: setup java chromium demo demo-job demo-reset test test-fast lint typecheck emr-package emr-venv clean \
	airflow-dags airflow-test airflow-e2e airflow-dag-test airflow-standalone airflow-backfill bench-dag-parse \
	bench-smoke

setup: java chromium $(STAMP) $(UDF_JAR) $(DOCS_VENDOR)

# The JDK, not only the runtime: `make setup` compiles the job's Java functions (spark_jobs/jvm).
java:
	@if ! command -v javac >/dev/null 2>&1; then \
	  echo "javac not found: installing OpenJDK 17 (Spark 3.5 needs Java 8/11/17; the job's JVM functions are compiled)"; \
	  if command -v apt-get >/dev/null 2>&1; then \
	    $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq openjdk-17-jdk-headless; \
	  else echo "Please install a JDK 17 (e.g. brew install openjdk@17) and re-run"; exit 1; fi; \
	fi

# The job's Java functions, compiled against the jars pyspark ships (Spark's API, Jackson),
# for Java 8 and later (EMR's runtimes); shipped with the EMR package.
$(UDF_JAR): $(UDF_SOURCES) $(STAMP)
	rm -rf build/jvm-classes && mkdir -p build/jvm-classes
	javac -nowarn --release 8 -d build/jvm-classes \
	  -cp "$$($(BIN)/python -c 'import os, pyspark; print(os.path.join(os.path.dirname(pyspark.__file__), "jars", "*"))')" \
	  $(UDF_SOURCES)
	jar cf $@ -C build/jvm-classes .

# What GX's Data Docs pages load from CDNs, pinned and checked, from the npm registry: the
# pages are served from the site itself (spark_jobs/report/site_assets.py; shipped in the EMR zip).
$(DOCS_VENDOR): spark_jobs/report/site_assets.py $(STAMP)
	$(BIN)/python -m spark_jobs.report.site_assets fetch
	touch $@

# tests/integration/test_data_docs.py opens the GX Data Docs pages in headless Chromium.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  echo "Chromium not found: installing it (the Data Docs browser test needs it)"; \
	  if command -v apt-get >/dev/null 2>&1; then \
	    $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; \
	  else echo "Please install Chromium as 'chromium' on PATH (e.g. brew install --cask chromium) for the Data Docs browser test"; fi; \
	fi

$(STAMP): requirements.txt requirements-dev.txt spark_jobs/requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install -q --no-deps $(ICEBERG_JAR_PACKAGE)
	touch $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check spark_jobs demo plugins dags tests bench
	$(BIN)/python -m lakehouse_unified.dag_files check dags

typecheck: setup
	$(BIN)/mypy spark_jobs demo plugins/lakehouse_unified

# Two pytest workers (pytest-xdist), a test file each at a time: most tests wait on a JVM,
# a scheduler or a subprocess, so two share 2 cores well. PYTEST_WORKERS=0: one process.
# --durations: the slowest tests, printed at the end (what to share next).
# Not the benchmarks' smoke runs (marked bench: they guard bench/, not the product): make bench-smoke.
PYTEST_WORKERS ?= 2
test: setup lint typecheck
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=30 -m "not bench"

bench-smoke: setup  ## every benchmark once at its smallest size (about 10 minutes): after changing bench/
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m bench tests/bench

test-fast: setup
	$(BIN)/python -m pytest -m "not spark and not airflow_e2e and not slow"

# The main command: demo raw batches, then one real Airflow DAG run per topic
# (`airflow dags test`, sqlite metadata DB, runtime local); prints the XCom outcome.
demo: setup
	$(BIN)/python -m demo.run_demo $(foreach t,$(DEMO_TOPICS),--topic $(t)) \
	  --batches $(DEMO_BATCHES) --rows-per-batch $(DEMO_ROWS)

# The job alone, without Airflow (same demo data).
demo-job: setup
	@for topic in $(DEMO_TOPICS); do \
	  $(BIN)/python -m demo.generate_raw --topic $$topic --batches $(DEMO_BATCHES) --rows-per-batch $(DEMO_ROWS) --seed 7 || exit 1; \
	  $(BIN)/python -m spark_jobs.unified_job --topic $$topic --run-report lakehouse/reports/$$topic-latest.json || exit 1; \
	done

demo-reset:
	rm -rf lakehouse airflow_home

airflow-dags: setup  ## write dags/unified__<topic>.py for every dags/topics/<topic>.yaml
	$(BIN)/python -m lakehouse_unified.dag_files sync dags

airflow-test: setup  ## fast Airflow tests (~15 s)
	$(BIN)/python -m lakehouse_unified.dag_files check dags
	$(BIN)/python -m pytest tests/airflow -m "not airflow_e2e"

airflow-e2e: setup  ## airflow dags test with the real job (~4 min)
	$(BIN)/python -m pytest tests/airflow -m airflow_e2e

airflow-dag-test: setup  ## one run of unified__$(TOPIC) on this machine, no scheduler
	$(AIRFLOW_ENV) $(BIN)/airflow db migrate
	$(AIRFLOW_ENV) $(BIN)/airflow dags test unified__$(TOPIC)

airflow-standalone: setup  ## scheduler + dag-processor + triggerer + api-server on :8080 (backfills, UI triggers)
	$(AIRFLOW_ENV) $(BIN)/airflow standalone

# Airflow 3 replaced `airflow dags backfill` with `airflow backfill create` (the scheduler
# runs the backfill: keep `make airflow-standalone` running in another terminal).
# make airflow-backfill TOPIC=orders FROM=2025-03-01T00:00:00+00:00 TO=2025-03-02T00:00:00+00:00
# On SQLite, creating the backfill's runs while the scheduler writes can fail with
# "database is locked" (a lock upgrade SQLite refuses at once rather than wait for);
# Airflow then removes the partial backfill, so the command is retried, up to 5 times.
airflow-backfill: setup  ## reprocess the raw snapshots committed in [FROM, TO) of unified__$(TOPIC)
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make airflow-backfill TOPIC=orders FROM=<iso date> TO=<iso date>"; exit 2; }
	@for attempt in 1 2 3 4 5; do \
	  out=$$($(AIRFLOW_ENV) $(BIN)/airflow backfill create --dag-id unified__$(TOPIC) --from-date $(FROM) \
	    --to-date $(TO) --reprocess-behavior completed 2>&1); rc=$$?; echo "$$out"; \
	  [ $$rc -eq 0 ] && exit 0; \
	  case "$$out" in *"database is locked"*) ;; *) exit $$rc;; esac; \
	  echo "airflow-backfill: the SQLite metadata DB was locked (attempt $$attempt of 5); Airflow removed the partial backfill, retrying in 10 s"; \
	  sleep 10; \
	done; exit 1

bench-dag-parse: setup
	$(BIN)/python bench/dag_parse.py

emr-package: setup
	rm -rf build/emr && mkdir -p build/emr
	$(BIN)/python -m spark_jobs.emr_package build/emr
	@echo "Upload build/emr/{entrypoint.py,forget_entrypoint.py,spark_jobs.zip,lakehouse-unified-udfs.jar} to the topic's code_uri and build"
	@echo "pyspark_deps.tar.gz with 'make emr-venv' (Amazon Linux, see docs/AIRFLOW.md)"

emr-venv:  ## pyspark_deps.tar.gz built on Amazon Linux 2023 (needs Docker)
	docker build -f docker/emr-venv.Dockerfile --platform linux/amd64 --output type=local,dest=build/emr .

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
