"""The forgotten keys: tokens the job drops on arrival, for a while after a forget.

A producer may still retry or correct a key after its subject was forgotten (an event in
flight, a replayed outbox). For ``remember_days`` the job drops raw rows of such a key
before anything reads them (``drop_forgotten``: no curated row, no drift sample, no
errors row); they stay in raw, where the next forget of the subject removes them.

The table holds HMAC-SHA256 tokens of the keys, made with the topic's PII key (the one
``pii: hash`` fields use), never the keys: ``ops_db.forgotten_keys`` is not something a
forget has to forget. One row per topic, key and request.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime, timedelta

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.exceptions import MissingSecretError
from spark_jobs.interface import PII_HASH_KEY_ENV
from spark_jobs.read.snapshots import table_exists
from spark_jobs.semantic.pii import hmac_sha256
from spark_jobs.tables import FORGOTTEN_TABLE, OPS_NAMESPACE, sql_string

SCHEMA = "topic STRING, key_token STRING, request_id STRING, forgotten_at TIMESTAMP, drop_until TIMESTAMP"
FORGOTTEN = "_forgotten"


def token(key: str, hash_key: bytes) -> str:
    """The token of one key (Python): the same value as :func:`token_column`."""
    return hmac.new(hash_key, key.encode("utf-8"), hashlib.sha256).hexdigest()


def token_column(key: Column, hash_key: bytes) -> Column:
    """The token of each row's key (Spark; HMAC-SHA256 in the JVM)."""
    return hmac_sha256(key, hash_key)


def remember(
    spark: SparkSession, topic: str, keys: Iterable[str], hash_key: bytes, request_id: str, remember_days: int
) -> int:
    """Record the keys' tokens (one append); returns how many."""
    tokens = sorted({token(k, hash_key) for k in keys})
    if not tokens:
        return 0
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {OPS_NAMESPACE}")
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {FORGOTTEN_TABLE} ({SCHEMA}) USING iceberg PARTITIONED BY (topic) "
        "TBLPROPERTIES ('format-version'='2')"
    )
    now = datetime.now()
    until = now + timedelta(days=remember_days)
    rows = [(topic, t, request_id, now, until) for t in tokens]
    spark.createDataFrame(rows, SCHEMA).writeTo(FORGOTTEN_TABLE).append()
    # Tokens whose time is over: gone, so that the topic's partition empties and its runs
    # are back to a metadata look-up.
    spark.sql(f"DELETE FROM {FORGOTTEN_TABLE} WHERE topic = {sql_string(topic)} AND drop_until <= current_timestamp()")
    return len(tokens)


def active_tokens(spark: SparkSession, topic: str) -> list[str]:
    """The tokens the job drops now (empty when nobody of the topic was forgotten lately).

    A run of a topic nobody of which is remembered pays a metadata look-up, not a Spark
    query: the table is partitioned by topic, and ``remember`` deletes the topic's
    tokens once their time is over."""
    if not table_exists(spark, FORGOTTEN_TABLE) or not _topic_has_files(spark, topic):
        return []
    rows = spark.sql(
        f"SELECT DISTINCT key_token FROM {FORGOTTEN_TABLE} "
        f"WHERE topic = {sql_string(topic)} AND drop_until > current_timestamp()"
    ).collect()
    return [str(r[0]) for r in rows]


def _topic_has_files(spark: SparkSession, topic: str) -> bool:
    """Whether the table's current snapshot has a data file in ``topic``'s partition (Iceberg's scan planning)."""
    jvm = spark._jvm
    assert jvm is not None
    table = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(spark._jsparkSession, FORGOTTEN_TABLE)
    scan = table.newScan().filter(jvm.org.apache.iceberg.expressions.Expressions.equal("topic", topic))
    tasks = scan.planFiles()
    try:
        return bool(tasks.iterator().hasNext())
    finally:
        tasks.close()


def drop_forgotten(raw: DataFrame, tokens: list[str], hash_key: bytes | None, topic: str) -> DataFrame:
    """``raw`` with a ``_forgotten`` flag on the rows of forgotten keys (the caller counts
    them and keeps the others). No tokens: no flag computed, nothing added to the plan."""
    if not tokens:
        return raw.withColumn(FORGOTTEN, F.lit(False))
    if hash_key is None:
        raise MissingSecretError(
            f"topic {topic!r}: keys of this topic were forgotten (ops_db.forgotten_keys) and the job drops "
            f"their late arrivals by an HMAC token, but {PII_HASH_KEY_ENV} is not set: set the topic's PII key. "
            "Nothing was read or written."
        )
    forgotten = token_column(F.col("idempotency_key"), hash_key).isin(tokens)
    return raw.withColumn(FORGOTTEN, F.coalesce(forgotten, F.lit(False)))
