"""Names of a topic's tables, always quoted when they reach SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from spark_jobs.exceptions import JobArgumentError
from spark_jobs.interface import TableRole, table_identifier, topic_name_problem

if TYPE_CHECKING:  # the module is imported before Spark starts (argument checks)
    from pyspark.sql import Column

RAW_COLUMNS = ("message_id", "idempotency_key", "event_ts", "ingest_ts", "payload")

# Output tables: Iceberg v2, row-level changes as merge-on-read delete files, so an
# upsert of a small increment writes little instead of rewriting whole data files.
OUTPUT_TABLE_PROPERTIES = ", ".join(
    f"'{key}'='{value}'"
    for key, value in {
        "format-version": "2",
        "write.merge.mode": "merge-on-read",
        "write.update.mode": "merge-on-read",
        "write.delete.mode": "merge-on-read",
    }.items()
)


OUTPUT_BUCKETS = 16
OUTPUT_PARTITIONING = f"PARTITIONED BY (bucket({OUTPUT_BUCKETS}, `_idempotency_key`))"
"""How curated, semantic and errors are partitioned: by key, so an upsert touches few files."""


def output_bucket(key: Column) -> Column:
    """The output tables' bucket of ``key``: Iceberg's own bucket transform, so rows laid
    out by it arrive at the writers already grouped the way the tables store them."""
    from pyspark.sql import functions as F

    from spark_jobs.session import CATALOG

    return F.call_function(f"{CATALOG}.system.bucket", F.lit(OUTPUT_BUCKETS), key)


def quote(identifier: str) -> str:
    """Backtick-quote one identifier part (backticks inside are doubled)."""
    return "`" + identifier.replace("`", "``") + "`"


@dataclass(frozen=True)
class TopicTables:
    """The four tables of a topic, as ``namespace.table`` pairs."""

    topic: str

    def __post_init__(self) -> None:
        problem = topic_name_problem(self.topic)
        if problem is not None:
            raise JobArgumentError(f"topic {self.topic!r} is not a valid topic name: it {problem}")

    def name(self, role: TableRole) -> str:
        """``namespace.table`` of one of the topic's tables, the table part quoted."""
        namespace, table = table_identifier(self.topic, role)
        return f"{namespace}.{quote(table)}"

    @property
    def raw(self) -> str:
        return self.name("raw")

    @property
    def curated(self) -> str:
        return self.name("curated")

    @property
    def semantic(self) -> str:
        return self.name("semantic")

    @property
    def errors(self) -> str:
        return self.name("errors")


OPS_NAMESPACE = "ops_db"
RUNS_TABLE = f"{OPS_NAMESPACE}.unified_job_runs"
"""One row per run of any topic of the warehouse (``history/runs_table.py``)."""
DRIFT_TABLE = f"{OPS_NAMESPACE}.schema_drift"
"""One row per topic and drifting field path (``history/drift_table.py``)."""
FORGOTTEN_TABLE = f"{OPS_NAMESPACE}.forgotten_keys"
"""Tokens of forgotten keys the job drops on arrival (``forget/forgotten_keys.py``)."""


def sql_string(value: str) -> str:
    """A Spark SQL string literal for ``value`` (quotes and backslashes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
