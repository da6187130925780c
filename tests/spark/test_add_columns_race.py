"""A run whose planned new column was added by another run first still writes.

The interleaving of two overlapping runs is reproduced deterministically: this run
plans from the schema before the other run's ALTER, then alters after it.
"""

from __future__ import annotations

import pytest

from spark_jobs.curated import write as curated_write
from spark_jobs.curated.write import ensure_table, evolve_columns, new_column_specs, plan_columns

pytestmark = pytest.mark.spark


def test_column_added_by_another_run_first_is_not_an_error(spark, monkeypatch: pytest.MonkeyPatch) -> None:
    table = "curated_db.`race_add_column`"
    ensure_table(spark, table)
    paths = [("coupon", "code"), ("amount",)]
    stale = plan_columns(spark, table, paths)
    assert sorted(stale.new_columns) == ["amount", "coupon__code"]

    # the other run wins the race for one of the two columns
    other_run_specs = [s for s in new_column_specs(stale) if s.startswith("`coupon__code`")]
    spark.sql(f"ALTER TABLE {table} ADD COLUMNS ({other_run_specs[0]})")

    plans = iter([stale])
    real_plan = curated_write.plan_columns
    monkeypatch.setattr(curated_write, "plan_columns", lambda *a: next(plans, None) or real_plan(*a))

    plan = evolve_columns(spark, table, paths)

    columns = spark.table(table).columns
    assert columns.count("coupon__code") == 1 and columns.count("amount") == 1
    assert plan.new_columns == ["amount"]
    assert plan.column_for_path == {("coupon", "code"): "coupon__code", ("amount",): "amount"}
    assert plan.table_columns == columns


def test_other_ddl_errors_are_not_retried(spark) -> None:
    table = "curated_db.`race_bad_ddl`"
    ensure_table(spark, table)
    calls = []

    def plan() -> list[str]:
        calls.append(1)
        return ["`x` NOT_A_TYPE"]

    from spark_jobs.commit.add_columns import add_columns_planned

    with pytest.raises(Exception, match="NOT_A_TYPE"):
        add_columns_planned(spark, table, plan, lambda specs: specs)
    assert len(calls) == 1


def test_a_field_added_to_the_contract_becomes_a_column_of_semantic_and_errors(spark) -> None:
    from pathlib import Path

    from spark_jobs.config.contract import parse_contract
    from spark_jobs.semantic.write import ensure_tables

    text = (Path(__file__).parent.parent / "integration" / "fixtures" / "shop.yaml").read_text()
    semantic, errors = "semantic_db.`contract_grows`", "semantic_db.`contract_grows_errors`"
    ensure_tables(spark, semantic, errors, parse_contract(text, "shop.yaml"))
    grown = parse_contract(text + "  - {name: coupon, type: int}\n", "shop.yaml")
    ensure_tables(spark, semantic, errors, grown)

    assert spark.table(semantic).schema["coupon"].dataType.simpleString() == "int"
    assert spark.table(errors).schema["coupon"].dataType.simpleString() == "string"
