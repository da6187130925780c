"""The decision on a contract's type change of an existing semantic column (no Spark)."""

from __future__ import annotations

import pytest

from spark_jobs.config.contract import parse_contract
from spark_jobs.semantic.type_changes import TypeChange, is_promotion, plan_type_changes

SOURCE = "s3://lake/contracts/orders.yaml"
TABLE = "semantic_db.`orders`"


def contract(*fields: str):
    return parse_contract("topic: orders\nfields:\n" + "".join(f"  - {f}\n" for f in fields), SOURCE)


def plan_for(old: str, new: str):
    """The table holds ``x`` as ``old`` (simpleString); the contract now declares ``new``."""
    return plan_type_changes({"_idempotency_key": "string", "x": old}, contract(f"{{name: x, type: '{new}'}}"), TABLE)


@pytest.mark.parametrize(
    ("old", "new", "to"),
    [
        ("int", "long", "bigint"),
        ("decimal(10,2)", "decimal(12,2)", "decimal(12,2)"),
        ("decimal(10,2)", "decimal(38,2)", "decimal(38,2)"),
    ],
)
def test_iceberg_promotions_are_legal(old: str, new: str, to: str) -> None:
    plan = plan_for(old, new)
    assert plan.promotions == (TypeChange("x", old, to, new),)
    assert plan.refused == () and plan.problem is None
    assert plan.promotions[0].to_dict() == {"field": "x", "from": old, "to": to}


def test_float_to_double_is_a_promotion() -> None:
    # the contract has no float type, but a table may (Iceberg's third promotion)
    assert is_promotion("float", "double") and is_promotion("FLOAT", "DOUBLE")
    assert not is_promotion("double", "float")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("string", "int"),
        ("bigint", "int"),  # narrowing
        ("decimal(10,2)", "decimal(12,3)"),  # another scale
        ("decimal(12,2)", "decimal(10,2)"),  # less precision
        ("double", "decimal(12,2)"),
        ("int", "double"),  # not an Iceberg v2 promotion
        ("int", "string"),
        ("date", "timestamp"),
        ("timestamp", "date"),
        ("boolean", "int"),
    ],
)
def test_other_changes_are_refused(old: str, new: str) -> None:
    plan = plan_for(old, new)
    assert plan.promotions == ()
    assert [(c.field, c.old) for c in plan.refused] == [("x", old)]
    assert plan.problem is not None


def test_same_type_in_other_spellings_is_no_change() -> None:
    for old, new in (("bigint", "long"), ("int", "int"), ("decimal(10,2)", "decimal(10, 2)"), ("string", "string")):
        plan = plan_for(old, new)
        assert plan.promotions == () and plan.refused == (), (old, new)


def test_pii_field_is_string_in_semantic_whatever_its_type() -> None:
    # a PII field is STRING in semantic: changing its declared type changes nothing there
    plan = plan_type_changes({"card": "string"}, contract("{name: card, type: long, pii: hash}"), TABLE)
    assert plan.promotions == () and plan.refused == ()


def test_leaving_pii_makes_string_column_typed_which_is_refused() -> None:
    plan = plan_type_changes({"card": "string"}, contract("{name: card, type: int}"), TABLE)
    assert [(c.field, c.old, c.new) for c in plan.refused] == [("card", "string", "int")]


def test_becoming_pii_turns_typed_column_to_string_which_is_refused() -> None:
    plan = plan_type_changes({"qty": "int"}, contract("{name: qty, type: int, pii: mask}"), TABLE)
    assert [(c.field, c.old, c.new) for c in plan.refused] == [("qty", "int", "string")]
    assert "(declared int, pii mask)" in (plan.problem or "")


def test_field_not_in_the_table_is_not_a_change() -> None:
    plan = plan_type_changes({"a": "int"}, contract("{name: a, type: int}", "{name: b, type: long}"), TABLE)
    assert plan.promotions == () and plan.refused == ()
    assert plan_type_changes({}, contract("{name: a, type: int}"), TABLE).refused == ()  # no table yet


def test_refusal_names_file_field_both_types_and_what_to_do() -> None:
    plan = plan_type_changes(
        {"status": "string", "qty": "int", "amount": "decimal(10,2)"},
        contract("{name: status, type: int}", "{name: qty, type: long}", "{name: amount, type: 'decimal(10,3)'}"),
        TABLE,
    )
    assert [c.field for c in plan.promotions] == ["qty"]
    assert [c.field for c in plan.refused] == ["status", "amount"]
    problem = plan.problem or ""
    assert problem.startswith(f"{SOURCE}: type change refused")
    assert "field 'status': the semantic column is string, the contract now makes it int" in problem
    assert "field 'amount': the semantic column is decimal(10,2), the contract now makes it decimal(10,3)" in problem
    assert "'qty'" not in problem  # the legal one is applied, not refused
    assert "give the field a new name (it becomes a new column" in problem
    assert f"rebuild the semantic table: drop {TABLE} and reprocess from the first raw snapshot" in problem
    assert "--from-snapshot-exclusive none" in problem
    assert plan.refusal is not None and SOURCE not in plan.refusal  # ContractError adds the file itself
