"""Keys past curated's bounds land in ``_overflow`` as JSON, values exact (parse/column_bounds.py)."""

from __future__ import annotations

import json

import pytest

from spark_jobs.config.curated_bounds import CuratedBounds
from spark_jobs.parse.column_bounds import OVERFLOW, bound_structure
from spark_jobs.parse.payload import infer_payload_structure, leaf_paths, parse_payload, string_leaves, value_at

pytestmark = pytest.mark.spark


def test_overflow_keys_keep_their_values_and_the_struct_stays_narrow(spark) -> None:
    payloads = [
        '{"order_id": "o1", "10001": 1.50, "10002": {"a": 2.50}, "customer": {"email": "a@x.com", "tag_00001": 7}}',
        '{"order_id": "o2", "customer": {"email": "b@x.com"}}',
        '{"order_id": "o3", "10003": null}',
    ]
    df = spark.createDataFrame(list(enumerate(payloads)), "i int, payload string")
    structure = infer_payload_structure(spark, df)
    bounded = bound_structure(structure, CuratedBounds(), contract_paths=[("customer", "email")])
    assert leaf_paths(bounded.structure) == [("customer", "email"), ("order_id",)]
    assert bounded.overflow == {(): ["10001", "10002", "10003"], ("customer",): ["tag_00001"]}

    parsed = parse_payload(df, string_leaves(bounded.structure), overflow=bounded.overflow_filters)
    rows = {r["i"]: r for r in parsed.select("i", OVERFLOW, value_at(("customer", "email")).alias("email")).collect()}
    assert json.loads(rows[0][OVERFLOW]) == {"10001": "1.50", "10002": '{"a":2.50}', "customer.tag_00001": "7"}
    assert rows[0]["email"] == "a@x.com"
    assert rows[1][OVERFLOW] is None  # no overflow key in the row
    assert rows[2][OVERFLOW] is None  # a null value is no value
