"""Suite expectations as per-row Spark predicates (True where a row fails).

Semantics follow GX's map expectations: nulls are ignored by every type but
``not_be_null``; ``mostly`` does not apply to rows (a failing row is quarantined
even if the expectation as a whole passes). Uniqueness is within the increment.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs.config.suite import RowRule


def repeated_flag(rule: RowRule) -> str:
    """Name of the column ``flag_repeated_values`` adds for a uniqueness rule."""
    return f"_repeated__{rule.column}"


REPEATED_INLINE_MAX = 10_000
"""Up to this many repeated values are inlined as a set; more are joined back."""
_INLINE_TYPES = (T.StringType, T.IntegerType, T.LongType)


def flag_repeated_values(df: DataFrame, rule: RowRule) -> DataFrame:
    """Add ``repeated_flag(rule)``: true where the rule's column value occurs twice or more.

    Runs one narrow aggregate now (an action). Repeated values are usually few: they
    become an ``IN`` set, so the wide rows are neither shuffled (a window over the
    column would sort them all) nor joined. Many repeated values, or a type whose
    literals do not round-trip exactly, fall back to a join.
    """
    flag = repeated_flag(rule)
    repeated = (
        df.where(F.col(rule.column).isNotNull())
        .groupBy(rule.column)
        .agg(F.count(F.lit(1)).alias("_occurrences"))
        .where(F.col("_occurrences") > 1)
        .select(rule.column)
    )
    if isinstance(df.schema[rule.column].dataType, _INLINE_TYPES):
        values = [row[0] for row in repeated.limit(REPEATED_INLINE_MAX + 1).collect()]
        if len(values) <= REPEATED_INLINE_MAX:
            is_repeated = F.coalesce(F.col(rule.column).isin(values), F.lit(False)) if values else F.lit(False)
            return df.withColumn(flag, is_repeated)
    joined = df.join(repeated.withColumn(flag, F.lit(True)), rule.column, "left")
    return joined.select(*df.columns, F.coalesce(F.col(flag), F.lit(False)).alias(flag))


def failure_condition(rule: RowRule, value: Column) -> Column:
    """A boolean column: true where the row breaks ``rule`` (never null).

    A uniqueness rule reads the column added by ``flag_repeated_values``.
    """
    t = rule.expectation_type
    if t == "expect_column_values_to_not_be_null":
        fails = value.isNull()
    elif t == "expect_column_values_to_match_regex":
        fails = value.isNotNull() & ~value.cast("string").rlike(rule.kwarg("regex"))
    elif t == "expect_column_values_to_be_in_set":
        fails = value.isNotNull() & ~value.isin(list(rule.kwarg("value_set")))
    elif t == "expect_column_values_to_be_between":
        fails = value.isNotNull() & ~_between(rule, value)
    elif t == "expect_column_values_to_be_unique":
        fails = value.isNotNull() & F.col(repeated_flag(rule))
    else:  # the suite loader rejects other types
        raise ValueError(f"unsupported expectation type {t!r}")
    return F.coalesce(fails, F.lit(False))


def _between(rule: RowRule, value: Column) -> Column:
    ok = F.lit(True)
    low, high = rule.kwarg("min_value"), rule.kwarg("max_value")
    if low is not None:
        ok = ok & ((value > F.lit(low)) if rule.kwarg("strict_min", False) else (value >= F.lit(low)))
    if high is not None:
        ok = ok & ((value < F.lit(high)) if rule.kwarg("strict_max", False) else (value <= F.lit(high)))
    return ok


def describe(rule: RowRule) -> str:
    """Human reason for a failed rule (no values: they may be PII)."""
    t = rule.expectation_type
    if t == "expect_column_values_to_not_be_null":
        return "value is null or missing"
    if t == "expect_column_values_to_match_regex":
        return f"value does not match {rule.kwarg('regex')}"
    if t == "expect_column_values_to_be_in_set":
        return f"value not in {list(rule.kwarg('value_set'))}"
    if t == "expect_column_values_to_be_between":
        return f"value not between {rule.kwarg('min_value')} and {rule.kwarg('max_value')}"
    return "value is not unique in the batch"
