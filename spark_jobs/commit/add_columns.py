"""ALTER TABLE ADD COLUMNS that tolerates another run adding the same columns first.

Two runs of a topic can overlap (a manual trigger during a backfill, a retry while
the first attempt still commits). Both see the same new payload field and plan the
same new column; the second ALTER then fails with "name already exists", or with a
commit conflict on the table metadata. Neither is an error of this run: the column
it wanted is there. We refresh the table, plan again from its current schema and
add only what is still missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from pyspark.sql import SparkSession

_log = logging.getLogger(__name__)

Plan = TypeVar("Plan")

# Messages of a schema change that lost a race: Spark's analyzer (same catalog view),
# Iceberg's SchemaUpdate (refreshed metadata) or the table commit itself.
_LOST_RACE = ("already exists", "FIELDS_ALREADY_EXISTS", "CommitFailedException", "Cannot commit")


def lost_schema_race(error: BaseException) -> bool:
    return any(marker in str(error) for marker in _LOST_RACE)


def add_columns_planned(
    spark: SparkSession,
    table: str,
    plan: Callable[[], Plan],
    column_specs: Callable[[Plan], list[str]],
    attempts: int = 3,
) -> Plan:
    """Plan, add the plan's missing columns, and return the plan the table now matches.

    ``plan`` reads the table's current schema; ``column_specs`` turns a plan into
    ``name TYPE [COMMENT ...]`` specs for the columns still to add.
    """
    for attempt in range(1, attempts + 1):
        planned = plan()
        specs = column_specs(planned)
        if not specs:
            return planned
        try:
            spark.sql(f"ALTER TABLE {table} ADD COLUMNS ({', '.join(specs)})")
            return planned
        except Exception as error:
            if attempt == attempts or not lost_schema_race(error):
                raise
            _log.warning("%s: another run changed the schema first (%s); planning again", table, error)
            spark.sql(f"REFRESH TABLE {table}")
    raise AssertionError("unreachable")  # pragma: no cover
