"""Which payload paths become curated columns (parse/column_bounds.py): decided on the
structure alone, so these tests need no Spark session."""

from __future__ import annotations

import pytest
from pyspark.sql import types as T

from spark_jobs.config.contract import parse_contract
from spark_jobs.config.curated_bounds import CuratedBounds, looks_like_data
from spark_jobs.exceptions import ContractError
from spark_jobs.parse.column_bounds import bound_structure
from spark_jobs.parse.payload import leaf_paths


def obj(*names: str, leaf: T.DataType | None = None) -> T.StructType:
    return T.StructType([T.StructField(n, leaf or T.StringType()) for n in names])


def root(**fields: T.DataType) -> T.StructType:
    return T.StructType([T.StructField(n, t) for n, t in sorted(fields.items())])


def test_keys_that_look_like_data() -> None:
    data = ["12345", "SKU-10234", "user_99812", "2024-03-01", "0b8e8a52-1b7a-4a3e-9c1e-6d6f3c1f2a10", "12.5"]
    names = ["order_id", "address_line_1", "ipv4", "v2", "x_123", "customer"]
    assert all(looks_like_data(k) for k in data)
    assert not any(looks_like_data(k) for k in names)


def test_a_map_keyed_by_skus_is_one_json_column() -> None:
    skus = obj(*(f"SKU-{i:05d}" for i in range(3000)))
    bounded = bound_structure(root(order_id=T.StringType(), inventory=skus), CuratedBounds())
    assert leaf_paths(bounded.structure) == [("inventory",), ("order_id",)]
    assert [(f.path, f.keys, f.reason) for f in bounded.folded] == [("inventory", 3000, "data_like_keys")]
    assert bounded.overflow == {}


def test_an_object_with_too_many_keys_is_one_json_column() -> None:
    wide = obj(*(f"metric_{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(150)))
    bounded = bound_structure(root(stats=wide), CuratedBounds(max_object_keys=100))
    assert leaf_paths(bounded.structure) == [("stats",)]
    assert bounded.folded[0].reason == "many_keys"
    kept = bound_structure(root(stats=wide), CuratedBounds(max_object_keys=100, expand_paths=(("stats",),)))
    assert len(leaf_paths(kept.structure)) == 150


def test_data_like_keys_at_the_root_overflow() -> None:
    fields = {f"{10000 + i}": T.StringType() for i in range(3000)}
    bounded = bound_structure(root(order_id=T.StringType(), **fields), CuratedBounds())
    assert leaf_paths(bounded.structure) == [("order_id",)]
    assert len(bounded.overflow[()]) == 3000
    # _overflow's filter names the one kept key, not the 3,000 overflow keys
    assert bounded.overflow_filters == {(): ["order_id"]}


def test_a_run_adds_at_most_n_new_columns() -> None:
    fields = {f"field_{chr(97 + i)}": T.StringType() for i in range(10)}
    nested = obj("a", "b", "c")
    bounds = CuratedBounds(max_new_columns_per_run=5)
    bounded = bound_structure(root(**fields), bounds)
    assert leaf_paths(bounded.structure) == [(f"field_{chr(97 + i)}",) for i in range(5)]
    assert bounded.overflow == {(): [f"field_{chr(97 + i)}" for i in range(5, 10)]}
    # an object that does not fit whole becomes one column while one is left
    folded = bound_structure(
        root(a1=T.StringType(), a2=T.StringType(), a3=T.StringType(), b=nested),
        CuratedBounds(max_new_columns_per_run=4),
    )
    assert leaf_paths(folded.structure) == [("a1",), ("a2",), ("a3",), ("b",)]
    assert folded.folded[0].reason == "column_budget"
    # known columns cost nothing; nothing new fits once the budget is spent
    known = {("field_a",), ("field_b",)}
    again = bound_structure(root(**fields), bounds, known=known)
    assert len(leaf_paths(again.structure)) == 7


def test_contract_and_known_paths_are_always_parsed() -> None:
    customer = obj("email", *(f"tag_{i:05d}" for i in range(500)))
    contract_paths = [("customer", "email")]
    bounded = bound_structure(root(customer=customer), CuratedBounds(), contract_paths=contract_paths)
    # customer holds a contract field, so it cannot be folded: its map-like keys overflow
    assert leaf_paths(bounded.structure) == [("customer", "email")]
    assert len(bounded.overflow[("customer",)]) == 500
    assert bounded.overflow_filters == {("customer",): ["email"]}
    # an object curated already holds as one column stays one column, whatever its keys
    small = obj("a", "b")
    folded = bound_structure(root(inventory=small), CuratedBounds(), known={("inventory",)})
    assert leaf_paths(folded.structure) == [("inventory",)]
    assert folded.folded[0].reason == "already_a_column"


def test_configured_json_paths_are_folded() -> None:
    bounded = bound_structure(root(attrs=obj("a", "b")), CuratedBounds(json_paths=(("attrs",),)))
    assert leaf_paths(bounded.structure) == [("attrs",)]
    assert bounded.folded[0].reason == "configured"


def test_the_contract_section_is_validated() -> None:
    base = "topic: t\nfields:\n  - {name: a, type: string}\n"
    contract = parse_contract(base + "curated: {max_object_keys: 5, json_paths: [x.y]}\n", "contracts/t.yaml")
    assert contract.curated == CuratedBounds(max_object_keys=5, json_paths=(("x", "y"),))
    assert parse_contract(base, "contracts/t.yaml").curated == CuratedBounds()
    for bad in ("curated: {max_object_keys: 0}", "curated: {json_paths: x}", "curated: {colums: 3}"):
        with pytest.raises(ContractError, match=r"contracts/t.yaml.*curated"):
            parse_contract(base + bad + "\n", "contracts/t.yaml")
