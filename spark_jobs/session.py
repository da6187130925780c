"""Build the SparkSession: the only place that knows about catalogs and jars."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from spark_jobs.interface import CATALOG, CatalogType, catalog_conf, job_jvm_conf

__all__ = ["CATALOG", "DEFAULT_WAREHOUSE", "CatalogType", "build_session", "catalog_conf"]

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_WAREHOUSE = "lakehouse/warehouse"
ICEBERG_JAR_NAME = "iceberg-spark-runtime-3.5_2.12-1.10.2.jar"


def iceberg_runtime_jar() -> str:
    """Path of the Iceberg Spark runtime jar for a local session.

    ``ICEBERG_SPARK_JAR`` wins; otherwise the jar shipped by the pinned PyPI package
    ``snowpark-connect-deps-iceberg==1.0.2`` (installed by ``make setup``).
    """
    explicit = os.environ.get("ICEBERG_SPARK_JAR")
    if explicit:
        return explicit
    try:
        import snowpark_connect_deps_iceberg as jars_pkg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "Iceberg Spark runtime jar not found: run `make setup` (installs "
            "snowpark-connect-deps-iceberg==1.0.2) or set ICEBERG_SPARK_JAR"
        ) from exc
    jar = Path(jars_pkg.__file__).parent / "jars" / ICEBERG_JAR_NAME
    if not jar.is_file():  # pragma: no cover
        raise RuntimeError(f"Iceberg Spark runtime jar missing at {jar}")
    return str(jar)


def local_jars() -> list[str]:
    """The jars a local session needs: Iceberg's runtime and the job's JVM functions."""
    from spark_jobs.jvm import udf_jar

    return [iceberg_runtime_jar(), udf_jar()]


JOB_SQL_CONF = {
    # The job caches the parsed increment and the typed rows once each and reads them
    # several times. Building Spark's in-memory column batches with compression took
    # twice as long (typed rows at 1M: 8 s vs 4 s; parsed rows 20 s vs 12 s, first run),
    # and saved no memory on these rows (parsed: 257 MB either way), measured 2026-12-04.
    "spark.sql.inMemoryColumnarStorage.compressed": "false",
}
"""SQL confs the job's plans are tuned for; set on the session in every runtime."""


JAVA_OPTIONS_ENV = "SPARK_DRIVER_JAVA_OPTIONS"
"""Extra Java options of a local run's JVM (added to ``interface.JOB_JVM_OPTIONS``).

E.g. ``-XX:TieredStopAtLevel=1`` (HotSpot's C1 compiler only, no C2 compilations) for
a job process that lives for one small increment: a cold spark-submit run of 5-8 rows
took 39 CPU-seconds instead of 57 (mean of 4 each), at the same wall time (33 s; 2
cores, 2026-12-07). Not the default: a long or large run is faster with C2. The tests'
job processes use it (tests/conftest.py)."""


def local_conf() -> dict[str, str]:
    """Spark confs of a local run (laptop, CI, Airflow ``runtime: local``); env overrides.

    Shuffle partitions: 32, and adaptive execution (on by default) coalesces them to a
    few on small increments. A fixed handful (we had 4) made each dedup window sort
    hold a quarter of a large first run: 5M raw rows failed with "Unable to acquire
    memory" in a 4 GB driver.
    """
    return {
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": os.environ.get("SPARK_SHUFFLE_PARTITIONS", "32"),
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        "spark.driver.memory": os.environ.get("SPARK_DRIVER_MEMORY", "4g"),
        **job_jvm_conf(os.environ.get(JAVA_OPTIONS_ENV, "")),
    }


def build_session(
    catalog_type: CatalogType = "hadoop",
    warehouse: str = DEFAULT_WAREHOUSE,
    app_name: str = "unified-job",
) -> SparkSession:
    """Return the SparkSession for the job.

    Under ``spark-submit`` (EMR Serverless) the master and jars come from the
    submitter and only the catalog confs are applied; started from plain Python
    (laptop, tests) it is a ``local[2]`` session with the Iceberg jar.
    """
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    if catalog_type == "hadoop" and "://" not in warehouse:
        warehouse = str(Path(warehouse).resolve())
        Path(warehouse).mkdir(parents=True, exist_ok=True)
    for key, value in catalog_conf(catalog_type, warehouse).items():
        builder = builder.config(key, value)
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit
        builder = (
            builder.master(os.environ.get("SPARK_MASTER", "local[2]"))
            .config("spark.jars", ",".join(local_jars()))
            .config("spark.sql.warehouse.dir", str(Path(warehouse).parent / "spark-sql-warehouse"))
        )
        for key, value in local_conf().items():
            builder = builder.config(key, value)
    session = builder.getOrCreate()
    for key, value in JOB_SQL_CONF.items():
        session.conf.set(key, value)
    session.sparkContext.setLogLevel(os.environ.get("SPARK_LOG_LEVEL", "ERROR"))
    return session
