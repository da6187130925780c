"""The job's JVM functions (Java source in ``src/``, built into ``UDF_JAR`` by ``make setup``).

Written in Java where Spark has no function for the job and a Python UDF would move
every row through Python: ``BoundDepth`` (``parse/depth.py``) and ``MarkNumbers``
(``parse/exact_numbers.py``). The jar goes on the
session's classpath (``session.py``), on ``spark-submit --jars`` locally, and ships with
the EMR package next to ``spark_jobs.zip`` (``emr_package.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

JAR_NAME = "lakehouse-unified-udfs.jar"
JAR_ENV = "LAKEHOUSE_UDF_JAR"
FUNCTIONS = {
    "lakehouse_bound_depth": ("lakehouse.unified.BoundDepth", "struct<payload:string,folded:array<string>>"),
    "lakehouse_mark_numbers": ("lakehouse.unified.MarkNumbers", "binary"),
}


def udf_jar() -> str:
    """The jar's path: ``LAKEHOUSE_UDF_JAR``, or the one ``make setup`` built next to this file."""
    explicit = os.environ.get(JAR_ENV)
    if explicit:
        return explicit
    jar = Path(__file__).resolve().parent / JAR_NAME
    if not jar.is_file():
        raise RuntimeError(f"the job's JVM functions are not built ({jar} is missing): run `make setup`")
    return str(jar)


def register_functions(spark: SparkSession) -> None:
    """Register the Java functions as SQL functions of ``spark`` (a re-registration replaces them)."""
    from pyspark.sql import types as T

    for name, (class_name, return_type) in FUNCTIONS.items():
        spark.udf.registerJavaFunction(name, class_name, T._parse_datatype_string(return_type))
