"""Payload parsing, drift detection and semantic row checks on tiny DataFrames."""

from __future__ import annotations

import json

import pytest
from pyspark.sql import functions as F

from spark_jobs.config.contract import parse_contract
from spark_jobs.config.suite import parse_suite
from spark_jobs.dedup.deduplicate import DEDUP_STATUS
from spark_jobs.drift.detect import PII_SAMPLE, detect_drift
from spark_jobs.parse.payload import (
    CORRUPT,
    infer_payload_structure,
    leaf_paths,
    parse_payload,
    string_leaves,
    with_paths,
)
from spark_jobs.semantic.gx_engine import SuiteEngine
from spark_jobs.semantic.typed_rows import ERRORS, VALID, build_typed_rows, build_typed_values
from spark_jobs.semantic.validation_pass import validate

pytestmark = pytest.mark.spark
SCHEMA = (
    "message_id string, idempotency_key string, event_ts timestamp, ingest_ts timestamp, "
    f"payload string, {DEDUP_STATUS} string"
)

CONTRACT = parse_contract(
    """
topic: shop
fields:
  - {name: order_id, type: string, nullable: false}
  - {name: email, path: customer.email, type: string, pii: hash}
  - {name: amount, type: "decimal(10,2)"}
  - {name: qty, type: int}
""",
    "contracts/shop.yaml",
)
SUITE = parse_suite(
    json.dumps(
        {
            "expectations": [
                {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "min_value": 0}},
                {
                    "type": "expect_column_values_to_match_regex",
                    "kwargs": {"column": "email", "regex": "^[^@]+@[^@]+$"},
                },
                {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "order_id"}},
            ]
        }
    ),
    "expectations/shop.json",
    CONTRACT,
)
PAYLOADS = {
    "k1": '{"order_id": "o1", "customer": {"email": "a@x.com"}, "amount": 12.5, "qty": 2}',
    "k2": '{"order_id": "o2", "customer": {"email": "bad-email"}, "amount": -1, "qty": "2"}',
    "k3": '{"order_id": "o3", "amount": "abc", "qty": 2.5, "Coupon Code": "SAVE", "contact": "bob@y.org"}',
    "k4": '{"order_id": "o4", "amount": 1',
    "k5": '{"customer": {"email": "c@x.com"}, "items": [{"sku": 1}], "meta": {"a": {"b": true}}}',
    "k6": '{"order_id": "o6"}',
    "k7": '{"order_id": "o6"}',
}


@pytest.fixture(scope="module")
def parsed(spark):
    rows = [(f"m-{k}", k, None, None, p, "kept") for k, p in PAYLOADS.items()]
    df = spark.createDataFrame(
        rows,
        SCHEMA,
    )
    structure = with_paths(infer_payload_structure(spark, df), [f.path for f in CONTRACT.fields])
    return parse_payload(df, string_leaves(structure)).cache(), structure


def test_structure_has_nested_leaves_and_arrays_as_text(parsed) -> None:
    df, structure = parsed
    paths = set(leaf_paths(structure))
    assert {("customer", "email"), ("items",), ("meta", "a", "b"), ("Coupon Code",)} <= paths
    k5 = (
        df.where("idempotency_key = 'k5'").select(F.col("_p.items").alias("i"), F.col("_p.meta.a.b").alias("b")).first()
    )
    assert k5.i == '[{"sku":1}]' and k5.b == "true"
    assert [r.idempotency_key for r in df.where(F.col(CORRUPT).isNotNull()).collect()] == ["k4"]


def test_drift_counts_new_missing_and_mistyped_fields(parsed) -> None:
    df, structure = parsed
    drift = detect_drift(df, structure, CONTRACT)
    assert drift.rows == 7 and drift.malformed_rows == 1
    new = {f.path: (f.rows, f.sample) for f in drift.new_fields}
    assert new["Coupon Code"] == (1, "SAVE")
    assert new["contact"] == (1, PII_SAMPLE)  # looks like an email: not shown
    assert new["items"][0] == 1 and new["meta.a.b"][0] == 1
    missing = {m.field: m.rows for m in drift.missing_fields}
    assert missing["order_id"] == 1 and missing["email"] == 3  # k3, k6, k7; malformed k4 not counted
    mismatches = {m.field: (m.rows, m.sample) for m in drift.type_mismatches}
    assert mismatches == {"amount": (1, "abc"), "qty": (1, "2.5")}


def test_every_row_is_valid_or_has_reasons(parsed) -> None:
    df, _ = parsed
    engine = SuiteEngine(df.sparkSession)
    typed_rows = build_typed_rows(df, CONTRACT, engine.row_conditions(SUITE, build_typed_values(df, CONTRACT)))
    typed = typed_rows.with_errors()
    result = {r["_idempotency_key"]: r for r in typed.collect()}
    reasons = {k: sorted(f"{e.rule}:{e.column}" for e in r[ERRORS]) for k, r in result.items()}
    assert result["k1"][VALID] and reasons["k1"] == []
    assert result["k1"]["amount"] is not None and str(result["k1"]["amount"]) == "12.50"
    assert reasons["k2"] == [
        "expect_column_values_to_be_between:amount",
        "expect_column_values_to_match_regex:email",
    ]
    assert result["k2"]["qty"] == 2  # a numeric string fits int
    assert reasons["k3"] == ["contract:type:decimal(10,2):amount", "contract:type:int:qty"]
    assert reasons["k4"] == ["payload:malformed_json:payload"]
    assert reasons["k5"] == ["contract:not_null:order_id"]
    assert reasons["k6"] == reasons["k7"] == ["expect_column_values_to_be_unique:order_id"]
    summary = validate(typed, typed_rows.checks, SUITE, CONTRACT, engine)
    counts = summary.failed_checks
    assert counts["expect_column_values_to_be_unique:order_id"] == 2
    assert summary.valid_rows == sum(1 for row in result.values() if row[VALID]) == 1


def test_cast_reasons_never_echo_pii(spark) -> None:
    contract = parse_contract("topic: t\nfields: [{name: card, type: long, pii: mask}]", "contracts/t.yaml")
    df = spark.createDataFrame(
        [("m", "k", None, None, '{"card": "4111-1111-1111-1111"}', "kept")],
        SCHEMA,
    )
    structure = infer_payload_structure(spark, df)
    typed = build_typed_rows(parse_payload(df, string_leaves(structure)), contract, []).with_errors().first()
    assert typed is not None
    assert "4111" not in json.dumps([e.asDict() for e in typed[ERRORS]])
