"""Uniqueness flags: the inlined value set and the join fallback agree."""

from __future__ import annotations

import pytest

from spark_jobs.config.suite import RowRule
from spark_jobs.semantic import row_rules
from spark_jobs.semantic.row_rules import flag_repeated_values, repeated_flag

pytestmark = pytest.mark.spark

ROWS = [("a", 1.5), ("b", 2.0), ("a", 1.5), (None, None), (None, None), ("c", 2.0), ("d", 3.0)]


def _flags(spark, column: str) -> list[tuple[str | None, bool]]:
    df = spark.createDataFrame(ROWS, "name STRING, price DOUBLE")
    rule = RowRule("expect_column_values_to_be_unique", column, (("column", column),))
    flagged = flag_repeated_values(df, rule)
    assert flagged.columns == [*df.columns, repeated_flag(rule)]  # column order kept
    return sorted(((r["name"], r[repeated_flag(rule)]) for r in flagged.collect()), key=str)


EXPECTED_BY_NAME = [("a", True), ("a", True), ("b", False), ("c", False), ("d", False), (None, False), (None, False)]


def test_repeated_values_inlined(spark) -> None:
    assert _flags(spark, "name") == sorted(EXPECTED_BY_NAME, key=str)  # nulls never count as repeats


def test_repeated_values_joined_when_too_many(spark, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(row_rules, "REPEATED_INLINE_MAX", 0)
    assert _flags(spark, "name") == sorted(EXPECTED_BY_NAME, key=str)


def test_repeated_values_of_a_type_not_inlined(spark) -> None:
    # doubles are joined back (literal round trips are not trusted): 1.5 and 2.0 repeat
    flags = _flags(spark, "price")
    assert flags == sorted(
        [("a", True), ("a", True), ("b", True), ("c", True), ("d", False), (None, False), (None, False)], key=str
    )
