"""The depth bound (parse/depth.py, Java ``BoundDepth``) on tiny frames."""

from __future__ import annotations

import json

import pytest

from spark_jobs.parse.depth import DEPTH_FOLDED, SENT_PAYLOAD, bound_depth

pytestmark = pytest.mark.spark


def _bound(spark, payloads: list[str | None], max_depth: int) -> list[tuple[str | None, list[str] | None, str | None]]:
    df = spark.createDataFrame([(i, p) for i, p in enumerate(payloads)], "i int, payload string")
    rows = bound_depth(spark, df, max_depth).orderBy("i").collect()
    return [(r["payload"], r[DEPTH_FOLDED], r[SENT_PAYLOAD]) for r in rows]


def test_values_at_the_bound_become_their_json_text_as_sent(spark) -> None:
    sent = '{"a": {"b": {"c": 1.50, "d": "q\\"uote \\\\ \\n"}}, "e": [[1], {"f": {"g": 2}}], "h": 3}'
    [(payload, folded, original)] = _bound(spark, [sent], 2)
    doc = json.loads(payload)
    assert doc["a"]["b"] == '{"c": 1.50, "d": "q\\"uote \\\\ \\n"}'  # the characters sent, tokens included
    assert doc["e"] == ["[1]", '{"f": {"g": 2}}'] and doc["h"] == 3
    assert folded == ["a.b", "e[]"] and original == sent


def test_payloads_within_the_bound_or_not_json_are_left_as_they_are(spark) -> None:
    shallow = '{"a": {"b": 1}, "c": [1, 2]}'
    brackets_in_strings = '{"a": "{{{{{{{{{{[[[[[[[[[["}'  # enough brackets to be looked at, none deep
    malformed = '{"a": {"b": {"c": '
    rows = _bound(spark, [shallow, brackets_in_strings, malformed, None, "'single': 1"], 2)
    assert rows == [
        (shallow, None, None),
        (brackets_in_strings, None, None),
        (malformed, None, None),
        (None, None, None),
        ("'single': 1", None, None),
    ]


def test_ten_thousand_levels_are_walked_without_recursion(spark) -> None:
    levels = 10_000
    sent = '{"x": ' + '{"n": ' * levels + "1" + "}" * levels + ", 'q': 'single quotes, as Spark reads them'}"
    [(payload, folded, _)] = _bound(spark, [sent], 3)
    assert payload.startswith('{"x": {"n": {"n": "{\\"n\\": ') and folded == ["x.n.n"]
    assert payload.endswith("}}, 'q': 'single quotes, as Spark reads them'}")


def test_text_after_the_root_value_does_not_stop_the_bound(spark) -> None:
    [(payload, folded, _)] = _bound(spark, ['{"a": {"b": {"c": 1}}} trailing text'], 2)
    assert payload == '{"a": {"b": "{\\"c\\": 1}"}} trailing text' and folded == ["a.b"]
