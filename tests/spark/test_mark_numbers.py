"""The Java number marker (``MarkNumbers``, parse/exact_numbers.py) against the regular
expression it replaced, on generated payload-like text, and its leaf-path quoting."""

from __future__ import annotations

import random

import pytest
from pyspark.sql import functions as F

from spark_jobs.jvm import register_functions
from spark_jobs.parse import exact_numbers

pytestmark = pytest.mark.spark

# The regex marker this replaced (every token marked with the NUL escape; Java's regex,
# run by Spark's regexp_replace as the job did), kept here as the test's oracle.
_STRING = r'"[^"\\]*+(?:\\.[^"\\]*+)*+"' + r"|'[^'\\]*+(?:\\.[^'\\]*+)*+'"
_TOKEN = (
    r"(?<![\w.+\-])"
    r"(?:-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++(?:[eE][+\-]?[0-9]++)?|[eE][+\-]?[0-9]++)"
    r"|[+\-]?(?:NaN|Infinity|INF))"
    r"(?![\w.+\-])"
)
_ORACLE = rf"""\G((?:[^"'\-0-9NI+]++|{_STRING}|(?!{_TOKEN})[\-0-9NI+])*+)({_TOKEN})"""


def _oracle(payload: F.Column) -> F.Column:
    marked = F.regexp_replace(payload, _ORACLE, r'$1"\\u0000$2"')
    return F.when(~payload.contains("\\u0000") & (marked != payload), marked)


_PIECES = [
    "1.5",
    "-0.25",
    "1e400",
    "2E-3",
    "0.0",
    "10",
    "-7",
    "01.5",
    ".5",
    "1.",
    "1.5.5",
    "1.5e",
    "a1.5",
    "1.5a",
    "x-1.5",
    "NaN",
    "-Infinity",
    "+INF",
    "INFINITY",
    "+1.5",
    "--1.5",
    '"1.5"',
    '"a\\"2.5"',
    "'3.5'",
    '"\\\\"',
    " ",
    ",",
    ":",
    "{",
    "}",
    "[",
    "]",
    '"k"',
    "true",
    "null",
    "é",
    "_",
    "\n",
    "\\u00e9",
]


def _mark(spark, payloads: list[str], leaf_paths=()) -> list[tuple[str | None, str | None]]:
    """Each payload's marking by the Java function and by the regex oracle."""
    register_functions(spark)
    df = spark.createDataFrame([(i, p) for i, p in enumerate(payloads)], "i int, payload string")
    payload = F.col("payload")
    rows = df.select("i", exact_numbers.mark(payload, leaf_paths).alias("m"), _oracle(payload).alias("o")).collect()
    return [(r.m, r.o) for r in sorted(rows, key=lambda r: r.i)]


def test_marks_what_the_regex_marked_on_generated_text(spark) -> None:
    rng = random.Random(27)
    payloads = ["".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 30))) for _ in range(3000)]
    payloads += ['{"unterminated": "1.5, "v": 2.5}', '{"s": "\\u0000", "v": 2.5}', '{"v": 2.5 }']
    marked = _mark(spark, payloads)
    differ = [(p, m, o) for p, (m, o) in zip(payloads, marked, strict=True) if m != o]
    assert not differ, differ[:5]
    assert sum(m is not None for m, _ in marked) > 1000  # the text had tokens to mark


def test_a_leaf_token_is_only_quoted_and_others_are_marked(spark) -> None:
    payload = (
        '{"amount": 1.50, "c": {"p": 2e3, "deep": {"x": 0.5}}, "items": [{"price": 12.50}, 3.25],'
        ' "a\\u0062": 4.5, "other": 6.5, "n": NaN}'
    )
    leaves = [("amount",), ("c", "p"), ("c", "deep"), ("items",), ("ab",), ("n",)]
    ((marked, _),) = _mark(spark, [payload], leaves)
    assert marked == (
        '{"amount": "1.50", "c": {"p": "2e3", "deep": {"x": "\\u00000.5"}}, "items": [{"price": "\\u000012.50"},'
        ' "\\u00003.25"], "a\\u0062": "4.5", "other": "\\u00006.5", "n": "NaN"}'
    )
