"""Hostile payload shapes through the whole job: a map keyed by SKUs, ids as root keys,
more new fields than a run may add, and exact numbers end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spark_jobs.parse.column_bounds import OVERFLOW
from spark_jobs.tables import TopicTables

from .jobkit import Row, append_raw, at, run_job, table_rows, topic_config

pytestmark = pytest.mark.spark


def order(oid: str, **extra: Any) -> str:
    doc = {"order_id": oid, "customer": {"email": f"{oid}@example.com"}, "amount": 10, "status": "new"}
    doc.update(extra)
    return json.dumps(doc)


def test_a_wide_payload_adds_a_bounded_number_of_columns_and_loses_nothing(spark, tmp_path: Path, hash_key) -> None:
    topic = "shop_wide"
    dirs = topic_config(tmp_path, topic)
    inventory = {f"SKU-{i:05d}": i for i in range(3000)}
    by_id = {f"{700000 + i}": {"qty": 1.25} for i in range(300)}  # ids as root keys
    # more new fields than a run may add (named to sort after "inventory": the budget goes in sorted order)
    extra = {f"x_{chr(97 + i // 26)}{chr(97 + i % 26)}": "v" for i in range(250)}
    rows: list[Row] = [(f"m{i}", f"k{i}", at(i), at(i), order(f"o{i}")) for i in range(8)]
    rows.append(("mw", "kw", at(9), at(9), order("ow", inventory=inventory, **by_id, **extra)))
    append_raw(spark, topic, rows)
    report = run_job(spark, topic, dirs)
    assert report.outcome == "FULL_SUCCESS"

    tables = TopicTables(topic)
    columns = spark.table(tables.curated).columns
    new_columns = [c for c in columns if c == "inventory" or c.startswith("x_")]
    assert len(new_columns) == 200 and "inventory" in new_columns and OVERFLOW in columns  # the run's budget
    assert len(columns) < 230  # lineage, the contract's paths, the budget and _overflow
    drift = report.to_dict()["drift"]
    assert drift["folded_objects"] == [{"path": "inventory", "keys": 3000, "reason": "data_like_keys"}]
    assert drift["overflow"]["fields"] == 300 + 250 - 199
    assert len(drift["new_fields"]) == 200

    curated = {r["_idempotency_key"]: r for r in table_rows(spark, tables.curated)}
    wide = curated["kw"]
    assert json.loads(wide["inventory"]) == inventory
    overflow = json.loads(wide[OVERFLOW])
    assert overflow["700000"] == '{"qty":1.25}'
    kept = {c for c in columns if c.startswith("x_")}
    assert {k for k in overflow if k.startswith("x_")} == set(extra) - kept  # every field somewhere
    assert all(wide[c] == "v" for c in kept)
    assert all(curated[f"k{i}"][OVERFLOW] is None for i in range(8))
    keyed = {r["_idempotency_key"] for r in table_rows(spark, tables.semantic)}
    keyed |= {r["_idempotency_key"] for r in table_rows(spark, tables.errors)}
    assert keyed == {f"k{i}" for i in range(8)} | {"kw"}

    # the next run: the folded object stays one column, a normal new field still becomes one
    append_raw(spark, topic, [("mx", "kx", at(20), at(20), order("ox", inventory={"a": 1}, coupon="C1"))])
    again = run_job(spark, topic, dirs)
    assert again.outcome == "FULL_SUCCESS"
    assert again.curated.details["new_columns"] == ["coupon"]
    row = {r["_idempotency_key"]: r for r in table_rows(spark, tables.curated)}["kx"]
    assert row["inventory"] == '{"a":1}' and row["coupon"] == "C1"


def test_numbers_reach_curated_and_semantic_exactly(spark, tmp_path: Path, hash_key) -> None:
    topic = "shop_exact"
    dirs = topic_config(tmp_path, topic)
    payloads = {
        "k1": '{"order_id": "o1", "amount": 12345678.50, "score": 0.00001, "status": "new", "views": 1e3}',
        "k2": '{"order_id": "o2", "amount": 100.10, "score": NaN, "status": "new"}',
        "k3": '{"order_id": "o3", "amount": 1.239, "status": "new", "customer": {"email": "a@x.com"}}',
        "k4": '{"order_id": "o4", "amount": 1e400, "status": "new"}',
        "k5": '{"order_id": "o5", "amount": 99999.90, "score": 1234567890.123456789, "status": "new"}',
    }
    append_raw(spark, topic, [(f"m{k}", k, at(0), at(0), p) for k, p in payloads.items()])
    assert run_job(spark, topic, dirs).outcome == "FULL_SUCCESS"
    tables = TopicTables(topic)
    curated = {r["_idempotency_key"]: r for r in table_rows(spark, tables.curated)}
    assert [curated[k]["amount"] for k in payloads] == ["12345678.50", "100.10", "1.239", "1e400", "99999.90"]
    assert (curated["k1"]["score"], curated["k2"]["score"], curated["k1"]["views"]) == ("0.00001", "NaN", "1e3")
    assert curated["k5"]["score"] == "1234567890.123456789"
    semantic = {r["_idempotency_key"]: r for r in table_rows(spark, tables.semantic)}
    errors = {r["_idempotency_key"]: r for r in table_rows(spark, tables.errors)}
    assert set(semantic) == {"k5"} and set(errors) == {"k1", "k2", "k3", "k4"}
    assert str(semantic["k5"]["amount"]) == "99999.90" and semantic["k5"]["score"] == 1234567890.1234567

    def rules(key: str) -> set[str]:
        return {e["rule"] for e in errors[key]["_errors"]}

    assert "contract:type:long" in rules("k1")  # 1e3 is no long
    assert "contract:type:double" in rules("k2")  # NaN is no double
    assert "contract:type:decimal(10,2)" in rules("k3")  # 3 decimals: never rounded
    assert "contract:type:decimal(10,2)" in rules("k4")  # overflow
    assert errors["k3"]["amount"] == "1.239"  # (12345678.50 would be hidden: it looks like a phone number)
