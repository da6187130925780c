"""Shared fixtures: one local Spark session with an Iceberg catalog per test run."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TEST_HASH_KEY = "test-only-hmac-key-0123456789"
# py4j logs "Closing down clientserver connection" from __del__ at interpreter exit,
# after pytest closed its capture streams; only its warnings matter here.
logging.getLogger("py4j").setLevel(logging.WARNING)
# The job processes tests start (spark-submit, Airflow's local runtime, `python -m
# spark_jobs...`) each live for one small run: HotSpot's C1 compiler only, a third less
# CPU at the same wall time (spark_jobs/session.py, JAVA_OPTIONS_ENV); the suite is
# CPU-bound on two cores. The in-process session below lives as long as its worker and
# keeps C2, as the product's default.
JOB_PROCESS_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1"
os.environ.setdefault("SPARK_DRIVER_JAVA_OPTIONS", JOB_PROCESS_JAVA_OPTIONS)


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("warehouse")


@pytest.fixture(scope="session")
def spark(warehouse: Path) -> Iterator[object]:
    """A local[2] session; tables of different tests are kept apart by topic name."""
    os.environ.setdefault("SPARK_SHUFFLE_PARTITIONS", "2")
    os.environ.setdefault("TQDM_DISABLE", "1")
    from spark_jobs.session import JAVA_OPTIONS_ENV, build_session

    job_processes = os.environ.pop(JAVA_OPTIONS_ENV, None)  # not for this long-lived JVM (see above)
    try:
        session = build_session("hadoop", str(warehouse), app_name="tests")
    finally:
        if job_processes is not None:
            os.environ[JAVA_OPTIONS_ENV] = job_processes
    yield session
    session.stop()


@pytest.fixture
def hash_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PII_HASH_KEY", TEST_HASH_KEY)
    return TEST_HASH_KEY
