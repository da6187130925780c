"""A contract's type change of a semantic column: promoted in place when Iceberg allows it, refused otherwise.

The semantic table's column types come from the contract (``write.semantic_sql_type``:
PII fields are STRING whatever their declared type). When the contract changes the
type of a field the table already holds, Iceberg (format v2) can widen the column
in place, a metadata-only change that keeps every data file readable: ``int`` ->
``long``, ``float`` -> ``double``, ``decimal(P,S)`` -> ``decimal(P2,S)`` with
``P2 > P``. Any other change (``string`` -> ``int``, a narrowing, another scale) would
need the stored values rewritten: the job refuses it before writing either layer,
with a message naming the contract file, the field, both types and what to do.

``plan_type_changes`` is the decision, pure (no Spark session); ``check_type_changes``
reads the table's schema for it and ``apply_promotions`` runs the ALTERs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spark_jobs.config.contract import TopicContract
from spark_jobs.read.snapshots import table_exists
from spark_jobs.semantic.write import semantic_sql_type
from spark_jobs.tables import quote

if TYPE_CHECKING:  # the decision needs no Spark
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

_DECIMAL = re.compile(r"^decimal\((\d+),(\d+)\)$")
_ALIASES = {"long": "bigint", "integer": "int", "short": "smallint", "byte": "tinyint", "real": "float"}
_WIDENINGS = {("int", "bigint"), ("float", "double")}
LEGAL_PROMOTIONS = "int -> long, float -> double, decimal(P,S) -> decimal(P2,S) with P2 > P"
REBUILD_ADVICE = (
    "give the field a new name (it becomes a new column; the old column keeps what it holds) or rebuild the "
    "semantic table: drop {table} and reprocess from the first raw snapshot (--from-snapshot-exclusive none, "
    'in Airflow the trigger parameter from_snapshot_exclusive "none")'
)


def spark_type(sql_type: str) -> str:
    """A Spark SQL type as ``DataType.simpleString()`` spells it (``BIGINT``, ``long`` -> ``bigint``)."""
    text = sql_type.strip().lower().replace(" ", "")
    return _ALIASES.get(text, text)


@dataclass(frozen=True)
class TypeChange:
    """One contract field whose semantic column type differs from the table's."""

    field: str
    old: str  # the table's column type (simpleString)
    new: str  # the type the contract now gives the semantic column (simpleString)
    declared: str  # the contract's own spelling (``long``; for a PII field its declared type)

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "from": self.old, "to": self.new}


@dataclass(frozen=True)
class TypeChangePlan:
    """What the contract asks of the semantic table's existing columns."""

    topic: str
    source: str  # the contract file
    table: str
    promotions: tuple[TypeChange, ...] = ()
    refused: tuple[TypeChange, ...] = ()

    @property
    def refusal(self) -> str | None:
        """What is refused and what to do (None: nothing refused); ``problem`` adds the file."""
        if not self.refused:
            return None
        changes = "; ".join(
            f"field {c.field!r}: the semantic column is {c.old}, the contract now makes it {c.new}"
            + (f" (declared {c.declared})" if c.declared != c.new else "")
            for c in self.refused
        )
        return (
            f"type change refused: {changes}. Iceberg can only widen a column in place "
            f"({LEGAL_PROMOTIONS}); to change it otherwise, " + REBUILD_ADVICE.format(table=self.table)
        )

    @property
    def problem(self) -> str | None:
        """Why the semantic layer cannot be written, naming the contract file (None: nothing refused)."""
        return f"{self.source}: {self.refusal}" if self.refused else None


def is_promotion(old: str, new: str) -> bool:
    """Iceberg's (format v2) type promotions, on simpleString types."""
    old, new = spark_type(old), spark_type(new)
    if (old, new) in _WIDENINGS:
        return True
    old_decimal, new_decimal = _DECIMAL.match(old), _DECIMAL.match(new)
    if old_decimal and new_decimal:
        (p, s), (p2, s2) = (map(int, m.groups()) for m in (old_decimal, new_decimal))
        return s2 == s and p2 > p
    return False


def plan_type_changes(existing: Mapping[str, str], contract: TopicContract, table: str = "") -> TypeChangePlan:
    """Compare the table's column types (name -> simpleString) with the contract's.

    A field the table does not have is no change (it is added as a new column); a
    PII field is STRING in semantic whatever its declared type.
    """
    columns = {name.lower(): spark_type(type_) for name, type_ in existing.items()}
    promotions: list[TypeChange] = []
    refused: list[TypeChange] = []
    for spec in contract.fields:
        old = columns.get(spec.name.lower())
        new = spark_type(semantic_sql_type(spec))
        if old is None or old == new:
            continue
        change = TypeChange(spec.name, old, new, spec.type if spec.pii == "none" else f"{spec.type}, pii {spec.pii}")
        (promotions if is_promotion(old, new) else refused).append(change)
    return TypeChangePlan(contract.topic, contract.source, table, tuple(promotions), tuple(refused))


def table_column_types(spark: SparkSession, table: str) -> dict[str, str]:
    """The table's top-level column types (empty if the table does not exist)."""
    if not table_exists(spark, table):
        return {}
    return {f.name: f.dataType.simpleString() for f in spark.table(table).schema.fields}


def check_type_changes(spark: SparkSession, semantic_table: str, contract: TopicContract) -> TypeChangePlan:
    """The plan for the semantic table as it is now (no table: no changes)."""
    return plan_type_changes(table_column_types(spark, semantic_table), contract, semantic_table)


def apply_promotions(spark: SparkSession, table: str, plan: TypeChangePlan) -> list[TypeChange]:
    """Widen the plan's columns (metadata only); returns what was applied.

    Iceberg's ``ALTER COLUMN ... TYPE`` to the type a column already has is a no-op, so
    a run that lost the race to another run promoting the same column is harmless.
    """
    for change in plan.promotions:
        spark.sql(f"ALTER TABLE {table} ALTER COLUMN {quote(change.field)} TYPE {change.new}")
        log.info(
            "topic %s: %s: column %s promoted from %s to %s (contract %s)",
            plan.topic,
            table,
            change.field,
            change.old,
            change.new,
            plan.source,
        )
    return list(plan.promotions)
