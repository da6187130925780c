from __future__ import annotations

import json

import pytest

from spark_jobs.config.contract import parse_contract
from spark_jobs.config.suite import parse_suite
from spark_jobs.exceptions import SuiteError

CONTRACT = parse_contract(
    "topic: orders\nfields: [{name: order_id, type: string}, {name: amount, type: double}]",
    "contracts/orders.yaml",
)


def _suite(*expectations: dict) -> str:
    return json.dumps({"name": "orders", "expectations": list(expectations)})


def test_supported_expectations_become_rules() -> None:
    suite = parse_suite(
        _suite(
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_id"}},
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "min_value": 0}},
            {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "order_id", "value_set": ["a"]}},
        ),
        "expectations/orders.json",
        CONTRACT,
    )
    assert [r.rule_id for r in suite.rules] == [
        "expect_column_values_to_not_be_null:order_id",
        "expect_column_values_to_be_between:amount",
        "expect_column_values_to_be_in_set:order_id",
    ]
    assert suite.rules[1].kwarg("min_value") == 0
    assert suite.rules[2].kwarg("value_set") == ("a",)


@pytest.mark.parametrize(
    ("expectation", "fragment"),
    [
        ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "nope"}}, "column 'nope'"),
        ({"type": "expect_table_row_count_to_equal", "kwargs": {"value": 1}}, "not supported"),
        (
            {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "order_id", "regex": "("}},
            "invalid regex",
        ),
        ({"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount"}}, "min_value or max_value"),
        ({"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "amount", "value_set": []}}, "non-empty"),
        ({"type": "expect_column_values_to_match_regex", "kwargs": {"column": "order_id"}}, "missing kwargs"),
    ],
)
def test_invalid_suites_name_file_and_problem(expectation: dict, fragment: str) -> None:
    with pytest.raises(SuiteError) as info:
        parse_suite(_suite(expectation), "expectations/orders.json", CONTRACT)
    assert str(info.value).startswith("expectations/orders.json")
    assert fragment in str(info.value)


def test_not_json_is_a_suite_error() -> None:
    with pytest.raises(SuiteError, match="not valid JSON"):
        parse_suite("{", "expectations/orders.json", CONTRACT)
