"""Bound how deep a payload nests: a value nested deeper than ``curated.max_depth`` is
kept as its JSON text, before anything walks the payload's structure.

Spark's JSON inference, the parsed struct, the flattening, drift's aggregate and the
generated code all recurse once per nesting level: one event nested 100 levels deep
exhausted a 1 GB driver (code generation), and 1,000 or 10,000 levels killed the
SparkContext, so one event stopped its topic. The payload text is rewritten instead
(``BoundDepth``, Java, in ``spark_jobs/jvm``): every object or array at path length
``max_depth`` becomes a JSON string holding its original text, so downstream it is
one STRING column like a folded object, its tokens as sent. No SQL function can
rewrite nested JSON by depth and a Python UDF would serialise every row to Python;
the Java function streams each payload once with the Jackson parser Spark ships.

Only payloads with more than ``max_depth`` opening brackets can be that deep: the
function counts them first (a scan of chars, no allocation) and returns null for the
others, so a normal increment pays that scan and the call. (Counting them in SQL with
``translate`` cost 20 s per 1M rows per pass, ``bench/event_guards.py``.)
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.jvm import register_functions

DEPTH_FOLDED = "_depth_folded"
"""Paths of the values kept as JSON text for their depth (null: none in that row)."""
SENT_PAYLOAD = "_sent_payload"
"""The payload as sent, on the rows whose text was rewritten (null on the others)."""
BOUND_DEPTH = "lakehouse_bound_depth"
_RESULT = "_bound_depth"


def bound_depth(spark: SparkSession, df: DataFrame, max_depth: int, where: Column | None = None) -> DataFrame:
    """``df`` with deep payloads rewritten (module docstring), on the rows where ``where``
    holds; adds ``_depth_folded`` and ``_sent_payload`` (the text as sent, where rewritten:
    a row judged malformed later shows that, not the rewrite)."""
    register_functions(spark)
    payload = F.col("payload")
    result = F.call_udf(BOUND_DEPTH, payload, F.lit(max_depth))  # null unless something was folded
    if where is not None:
        result = F.when(where, result)
    out = df.withColumn(_RESULT, result)
    folded = F.col(f"{_RESULT}.folded")
    return (
        out.withColumn(SENT_PAYLOAD, F.when(folded.isNotNull(), payload))
        .withColumn("payload", F.coalesce(F.col(f"{_RESULT}.payload"), payload))
        .withColumn(DEPTH_FOLDED, folded)
        .drop(_RESULT)
    )
