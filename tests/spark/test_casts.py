from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from spark_jobs.config.contract import FieldSpec
from spark_jobs.parse.casts import cast_text

pytestmark = pytest.mark.spark


def _cast(spark, type_: str, texts: list[str | None]):
    df = spark.createDataFrame([(t,) for t in texts], "t string")
    result = cast_text(F.col("t"), FieldSpec("f", type_, ("f",)))
    return [(r.v, r.ok) for r in df.select(result.value.alias("v"), result.fits.alias("ok")).collect()]


def test_int_is_strict(spark) -> None:
    assert _cast(spark, "int", ["12", "-3", "12.5", "abc", "99999999999", None]) == [
        (12, True),
        (-3, True),
        (None, False),
        (None, False),
        (None, False),
        (None, True),
    ]


def test_decimal_rejects_rounding_and_overflow(spark) -> None:
    assert _cast(spark, "decimal(5,2)", ["12.5", "12.50", "1.239", "123456", "x"]) == [
        (Decimal("12.50"), True),
        (Decimal("12.50"), True),
        (None, False),
        (None, False),
        (None, False),
    ]


def test_boolean_date_timestamp(spark) -> None:
    assert _cast(spark, "boolean", ["true", "false", "yes"]) == [(True, True), (False, True), (None, False)]
    assert _cast(spark, "date", ["2024-02-29", "2024-13-45", "2024-02-29T10:00"]) == [
        (dt.date(2024, 2, 29), True),
        (None, False),
        (None, False),
    ]
    ts = _cast(spark, "timestamp", ["2024-05-01T10:00:00Z", "2024-05-01T12:00:00+02:00", "yesterday"])
    assert ts[0] == ts[1] == (dt.datetime(2024, 5, 1, 10, 0), True)
    assert ts[2] == (None, False)


def test_string_accepts_anything(spark) -> None:
    assert _cast(spark, "string", ['{"a":1}', "x"]) == [('{"a":1}', True), ("x", True)]
