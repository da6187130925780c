"""A contract's type change on a real semantic table: promoted in place, or refused before any write."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from spark_jobs.config.contract import load_contract
from spark_jobs.read.snapshots import current_ancestry
from spark_jobs.semantic.type_changes import check_type_changes
from spark_jobs.tables import TopicTables
from spark_jobs.unified_job import exit_code

from .jobkit import append_raw, at, checkpoints, run_job, table_rows

pytestmark = pytest.mark.spark

FIELDS = {
    "order_id": "{name: order_id, type: string, nullable: false}",
    "qty": "{name: qty, type: int}",
    "amount": "{name: amount, type: 'decimal(10,2)'}",
    "status": "{name: status, type: string}",
    "ref": "{name: ref, type: string, pii: mask}",
}


def write_config(tmp_path: Path, topic: str, mode: str | None = None, **changed: str) -> tuple[str, str]:
    """The topic's contract (FIELDS with ``changed`` entries replaced) and an empty suite."""
    contracts, expectations = tmp_path / "contracts", tmp_path / "expectations"
    contracts.mkdir(exist_ok=True)
    expectations.mkdir(exist_ok=True)
    fields = "".join(f"  - {changed.get(name, spec)}\n" for name, spec in FIELDS.items())
    header = f"topic: {topic}\n" + (f"checkpoint_mode: {mode}\n" if mode else "")
    (contracts / f"{topic}.yaml").write_text(f"{header}fields:\n{fields}")
    (expectations / f"{topic}.json").write_text(json.dumps({"name": topic, "expectations": []}))
    return str(contracts), str(expectations)


def order(oid: str, qty: Any = 1, amount: Any = 10, status: str = "new") -> str:
    return json.dumps({"order_id": oid, "qty": qty, "amount": amount, "status": status, "ref": "400012349999"})


def column_types(spark, table: str) -> dict[str, str]:
    return {f.name: f.dataType.simpleString() for f in spark.table(table).schema.fields}


def head(spark, table: str) -> int:
    return current_ancestry(spark, table)[0].snapshot_id


def test_legal_type_change_widens_the_column_in_place(spark, tmp_path: Path) -> None:
    topic = "types_promoted"
    t = TopicTables(topic)
    dirs = write_config(tmp_path, topic)
    append_raw(spark, topic, [("m1", "k1", at(0), at(1), order("o1", qty=5, amount=12.34))])
    first = run_job(spark, topic, dirs, run_id="first")
    assert first.outcome == "FULL_SUCCESS" and first.semantic.details["type_promotions"] == []
    assert column_types(spark, t.semantic)["qty"] == "int"
    assert column_types(spark, t.semantic)["amount"] == "decimal(10,2)"

    # int -> long and decimal(10,2) -> decimal(12,2); a PII field's declared type is no change (STRING)
    dirs = write_config(
        tmp_path,
        topic,
        qty="{name: qty, type: long}",
        amount="{name: amount, type: 'decimal(12,2)'}",
        ref="{name: ref, type: long, pii: mask}",
    )
    second = append_raw(
        spark, topic, [("m2", "k2", at(10), at(11), order("o2", qty=3_000_000_000, amount=1234567890.12))]
    )
    dry = run_job(spark, topic, dirs, run_id="dry", dry_run=True)
    assert dry.outcome == "FULL_SUCCESS" and dry.semantic.status == "dry_run"
    assert column_types(spark, t.semantic)["qty"] == "int", "a dry run altered the table"

    report = run_job(spark, topic, dirs, run_id="second")
    assert report.outcome == "FULL_SUCCESS", report.to_json()
    promotions = [
        {"field": "qty", "from": "int", "to": "bigint"},
        {"field": "amount", "from": "decimal(10,2)", "to": "decimal(12,2)"},
    ]
    assert report.semantic.details["type_promotions"] == promotions
    assert report.to_dict()["semantic"]["type_promotions"] == promotions
    types = column_types(spark, t.semantic)
    assert (types["qty"], types["amount"], types["ref"]) == ("bigint", "decimal(12,2)", "string")
    assert column_types(spark, t.errors)["qty"] == "string"  # the errors table keeps text
    rows = {r["_idempotency_key"]: r for r in table_rows(spark, t.semantic)}
    assert (rows["k1"]["qty"], rows["k1"]["amount"]) == (5, Decimal("12.34"))  # written as int / decimal(10,2)
    assert (rows["k2"]["qty"], rows["k2"]["amount"]) == (3_000_000_000, Decimal("1234567890.12"))
    assert rows["k2"]["ref"] == "********9999"
    assert table_rows(spark, t.errors) == []
    assert checkpoints(spark, topic) == (second, second)
    # the table now matches the contract: nothing left to change
    plan = check_type_changes(spark, t.semantic, load_contract(f"{dirs[0]}/{topic}.yaml"))
    assert plan.promotions == () and plan.refused == ()


def test_illegal_type_change_refuses_semantic_before_any_write(spark, tmp_path: Path) -> None:
    topic = "types_refused"
    t = TopicTables(topic)
    dirs = write_config(tmp_path, topic)
    first = append_raw(spark, topic, [("m1", "k1", at(0), at(1), order("o1"))])
    assert run_job(spark, topic, dirs, run_id="first").outcome == "FULL_SUCCESS"
    schema_before = column_types(spark, t.semantic)
    heads = {name: head(spark, name) for name in (t.semantic, t.errors)}

    # string -> int: tiered mode writes curated only, semantic is refused with the reason
    contract_file = f"{dirs[0]}/{topic}.yaml"
    write_config(tmp_path, topic, status="{name: status, type: int}")
    second = append_raw(spark, topic, [("m2", "k2", at(10), at(11), order("o2", status="7"))])
    dry = run_job(spark, topic, dirs, run_id="dry", dry_run=True)  # the check runs when the run is planned
    assert dry.outcome == "CURATED_ONLY" and "field 'status'" in (dry.reason or "")
    tiered = run_job(spark, topic, dirs, run_id="tiered")
    assert tiered.outcome == "CURATED_ONLY" and exit_code(tiered) == 0
    assert tiered.semantic.status == "failed" and tiered.curated.status == "written"
    reason = tiered.reason or ""
    for fragment in (
        contract_file,
        "field 'status': the semantic column is string, the contract now makes it int",
        "give the field a new name",
        f"drop {t.semantic} and reprocess from the first raw snapshot (--from-snapshot-exclusive none",
    ):
        assert fragment in reason, (fragment, reason)
    assert column_types(spark, t.semantic) == schema_before
    assert {name: head(spark, name) for name in heads} == heads
    assert checkpoints(spark, topic) == (second, first)
    assert {r["_idempotency_key"] for r in table_rows(spark, t.curated)} == {"k1", "k2"}

    # unified mode: semantic goes first and is refused, so neither table is written; not retryable
    append_raw(spark, topic, [("m3", "k3", at(20), at(21), order("o3", status="8"))])
    all_heads = {name: head(spark, name) for name in (t.curated, t.semantic, t.errors)}
    unified = run_job(spark, topic, dirs, run_id="unified", checkpoint_mode="unified")
    assert unified.outcome == "SEMANTIC_FAILED" and unified.retryable is False and exit_code(unified) == 2
    assert "field 'status'" in (unified.reason or "") and contract_file in (unified.reason or "")
    assert unified.curated.status == "not_run"
    assert {name: head(spark, name) for name in all_heads} == all_heads
    assert column_types(spark, t.semantic) == schema_before
    assert checkpoints(spark, topic) == (second, first)

    # the contract's own checkpoint_mode still decides the mode (no --checkpoint-mode given)
    write_config(tmp_path, topic, mode="unified", status="{name: status, type: int}")
    by_contract = run_job(spark, topic, dirs, run_id="contract_unified")
    assert by_contract.checkpoint_mode == "unified"
    assert by_contract.outcome == "SEMANTIC_FAILED" and by_contract.retryable is False
    assert {name: head(spark, name) for name in all_heads} == all_heads

    # way out 1, as the message says: a new name is a new column, the old one keeps what it holds
    renamed = {"status": "{name: status_code, path: status, type: int}"}
    write_config(tmp_path, topic, mode="unified", **renamed)
    assert run_job(spark, topic, dirs, run_id="renamed").outcome == "FULL_SUCCESS"
    assert column_types(spark, t.semantic)["status_code"] == "int"
    rows = {r["_idempotency_key"]: (r["status"], r["status_code"]) for r in table_rows(spark, t.semantic)}
    assert rows == {"k1": ("new", None), "k2": (None, 7), "k3": (None, 8)}

    # way out 2: drop the semantic table and reprocess from the first raw snapshot
    write_config(tmp_path, topic, mode="unified", status="{name: status, type: int}")
    assert check_type_changes(spark, t.semantic, load_contract(contract_file)).refused  # status is still string
    spark.sql(f"DROP TABLE {t.semantic}")
    rebuilt = run_job(spark, topic, dirs, run_id="rebuilt", reprocess_all=True)
    assert rebuilt.outcome == "FULL_SUCCESS", rebuilt.to_json()
    assert column_types(spark, t.semantic)["status"] == "int"
    assert {r["_idempotency_key"]: r["status"] for r in table_rows(spark, t.semantic)} == {"k2": 7, "k3": 8}
    assert {r["_idempotency_key"] for r in table_rows(spark, t.errors)} == {"k1"}  # "new" is not an int
