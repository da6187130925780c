"""Suite expectations as per-row Spark predicates (True where a row fails).

Semantics follow GX's map expectations: nulls are ignored by every type but
``not_be_null``; ``mostly`` does not apply to rows (a failing row is quarantined
even if the expectation as a whole passes). Uniqueness is within the increment.
"""

from __future__ import annotations

from pyspark.sql import Column, Window
from pyspark.sql import functions as F

from spark_jobs.config.suite import RowRule


def failure_condition(rule: RowRule, value: Column) -> Column:
    """A boolean column: true where the row breaks ``rule`` (never null)."""
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
        occurrences = F.count(F.lit(1)).over(Window.partitionBy(value))
        fails = value.isNotNull() & (occurrences > 1)
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
