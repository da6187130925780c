"""Numbers keep their tokens through parsing (parse/exact_numbers.py) and the semantic
casts take them exactly or reject them (parse/casts.py)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from spark_jobs.config.contract import FieldSpec
from spark_jobs.parse.casts import cast_text
from spark_jobs.parse.payload import (
    infer_payload_structure,
    is_malformed,
    parse_payload,
    string_leaves,
    value_at,
)

pytestmark = pytest.mark.spark


def _parse(spark, payloads: list[str]) -> list[dict[str, object]]:
    df = spark.createDataFrame([(i, p) for i, p in enumerate(payloads)], "i int, payload string")
    structure = infer_payload_structure(spark, df)
    parsed = parse_payload(df, string_leaves(structure))
    names = [f.name for f in structure.fields]
    rows = parsed.select("i", is_malformed().alias("bad"), *[value_at((n,)).alias(n) for n in names]).collect()
    return [r.asDict() for r in sorted(rows, key=lambda r: r["i"])]


def test_fractions_and_exponents_keep_their_tokens(spark) -> None:
    tokens = ["12345678.5", "0.00001", "100.10", "1234567890.123456789", "1e400", "-2.5E-3", "0.0", "1E2"]
    rows = _parse(spark, [f'{{"v": {t}}}' for t in tokens])
    assert [r["v"] for r in rows] == tokens
    assert not any(r["bad"] for r in rows)


def test_integers_strings_booleans_and_nulls_are_unchanged(spark) -> None:
    payload = (
        '{"big": 123456789012345678901234567890, "neg": -7, "s": "1.50 and 2e3", "esc": "q\\"1.5\\" x",'
        ' "t": true, "n": null, "z": 0}'
    )
    (row,) = _parse(spark, [payload])
    assert row["big"] == "123456789012345678901234567890"
    assert row["neg"] == "-7"
    assert row["s"] == "1.50 and 2e3"
    assert row["esc"] == 'q"1.5" x'
    assert (row["t"], row["n"], row["z"]) == ("true", None, "0")


def test_non_numeric_tokens_are_text(spark) -> None:
    rows = _parse(spark, ['{"v": NaN}', '{"v": Infinity}', '{"v": -Infinity}'])
    assert [r["v"] for r in rows] == ["NaN", "Infinity", "-Infinity"]


def test_numbers_inside_json_text_stay_numbers_with_their_tokens(spark) -> None:
    payload = '{"items": [{"price": 12.50, "label": "x 1.5"}, 1e400, 3], "obj": {"a": 0.10}}'
    other = '{"obj": "now text"}'  # obj is an object in one row and text in the other: a STRING field
    rows = _parse(spark, [payload, other])
    assert json.loads(rows[0]["items"], parse_float=str) == [{"price": "12.50", "label": "x 1.5"}, "1e400", 3]
    assert rows[0]["items"] == '[{"price":12.50,"label":"x 1.5"},1e400,3]'
    assert rows[0]["obj"] == '{"a":0.10}'
    assert rows[1]["obj"] == "now text"


def test_malformed_numbers_stay_malformed(spark) -> None:
    rows = _parse(spark, ['{"v": 01.5}', '{"v": .5}', '{"v": 1.}', '{"v": 1.5.5}', '{"v": 1.5'])
    assert [r["bad"] for r in rows] == [True] * 5


def test_a_payload_with_its_own_nul_escape_is_parsed_without_markers(spark) -> None:
    (row,) = _parse(spark, ['{"s": "a\\u0000b", "v": 2.5}'])
    assert row["s"] == "a\x00b"  # its own NUL kept, not mistaken for a marker
    assert row["v"] == "2.5"


def test_a_huge_payload_is_scanned_without_recursion(spark) -> None:
    big = "x" * 1_000_000
    numbers = ", ".join(f'"n{i}": {i}.25' for i in range(300))
    rows = _parse(spark, [f'{{"s": "{big}", {numbers}, "last": 9.75}}'])
    assert len(rows[0]["s"]) == 1_000_000
    assert rows[0]["n299"] == "299.25" and rows[0]["last"] == "9.75"


def _cast(spark, type_: str, texts: list[str | None]) -> list[tuple[object, bool]]:
    df = spark.createDataFrame([(t,) for t in texts], "t string")
    result = cast_text(F.col("t"), FieldSpec("f", type_, ("f",)))
    return [(r.v, r.ok) for r in df.select(result.value.alias("v"), result.fits.alias("ok")).collect()]


def test_decimal_takes_the_exact_value_or_rejects_it(spark) -> None:
    assert _cast(spark, "decimal(20,9)", ["1234567890.123456789", "1234567890.1234567891", "1.2345678901234567E9"]) == [
        (Decimal("1234567890.123456789"), True),
        (None, False),  # one digit too many: never rounded
        (Decimal("1234567890.123456700"), True),  # that is the value sent
    ]
    assert _cast(spark, "decimal(5,2)", ["1.2345E2", "1.23456E2", "1.5E2", "1e400", "1e-400", "NaN", "Infinity"]) == [
        (Decimal("123.45"), True),
        (None, False),
        (Decimal("150.00"), True),
        (None, False),
        (None, False),
        (None, False),
        (None, False),
    ]


def test_long_and_int_take_only_whole_numbers_that_fit(spark) -> None:
    assert _cast(spark, "long", ["9223372036854775807", "9223372036854775808", "1e3", "NaN"]) == [
        (9223372036854775807, True),
        (None, False),
        (None, False),
        (None, False),
    ]


def test_double_rejects_non_finite_values_and_may_round(spark) -> None:
    assert _cast(spark, "double", ["NaN", "Infinity", "-Infinity", "1e400", "0.1", "1234567890.123456789"]) == [
        (None, False),
        (None, False),
        (None, False),
        (None, False),
        (0.1, True),
        (1234567890.1234567, True),  # a double holds 17 significant digits (documented)
    ]


def test_a_lone_surrogate_escape_makes_the_payload_malformed(spark) -> None:
    rows = _parse(spark, ['{"s": "a\\ud800b"}', '{"s": "\\udc00"}', '{"s": "\\ud83d\\ude00"}', '\ufeff{"s": "x"}'])
    assert [r["bad"] for r in rows] == [True, True, False, True]  # the pair is fine; a BOM is malformed
    assert rows[2]["s"] == "\U0001f600"
