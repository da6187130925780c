"""The suite loader: GX checks the kwargs, the job decides how each expectation applies."""

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
SOURCE = "expectations/orders.json"


def _suite(*expectations: dict) -> str:
    return json.dumps({"name": "orders", "expectations": list(expectations)})


def test_expectations_keep_gx_kwargs_kind_and_action() -> None:
    suite = parse_suite(
        _suite(
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_id"}},
            {"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "order_id", "min_value": 3}},
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "order_id", "value_set": ["a"]},
                "meta": {"action": "warn"},
            },
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "order_id", "mostly": 0.5}},
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
            {
                "type": "expect_column_mean_to_be_between",
                "kwargs": {"column": "amount", "max_value": 9},
                "meta": {"action": "fail"},
            },
        ),
        SOURCE,
        CONTRACT,
    )
    assert [e.rule_id for e in suite.expectations] == [
        "expect_column_values_to_not_be_null:order_id",
        "expect_column_value_lengths_to_be_between:order_id",
        "expect_column_values_to_be_in_set:order_id",
        "expect_column_values_to_not_be_null:order_id#2",
        "expect_table_row_count_to_be_between",
        "expect_column_mean_to_be_between:amount",
    ]
    assert [e.kind for e in suite.expectations] == ["row", "row", "row", "row", "batch", "batch"]
    assert [e.action for e in suite.expectations] == ["quarantine", "quarantine", "warn", "quarantine", "warn", "fail"]
    assert suite.expectations[2].kwargs == {"column": "order_id", "value_set": ["a"]}
    assert suite.expectations[1].reason == 'expect_column_value_lengths_to_be_between {"min_value": 3}'
    assert suite.expectations[1].gx_expectation().min_value == 3


@pytest.mark.parametrize(
    ("expectation", "fragment"),
    [
        ({"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "nope"}}, "column 'nope'"),
        ({"type": "expect_column_values_to_be_purple", "kwargs": {"column": "amount"}}, "not an expectation type"),
        (
            {
                "type": "expect_column_pair_values_A_to_be_greater_than_B",
                "kwargs": {"column_A": "amount", "column_B": "amount"},
            },
            "did you mean 'expect_column_pair_values_a_to_be_greater_than_b'?",
        ),
        (
            {"type": "expect_column_values_to_not_be_nul", "kwargs": {"column": "amount"}},
            "did you mean 'expect_column_values_to_not_be_null'",
        ),
        ({"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "order_id"}}, "value_set field required"),
        (
            {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "order_id", "regex": "("}},
            "invalid regex",
        ),
        (
            {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "order_id", "regexx": "a"}},
            "regexx extra fields not permitted",
        ),
        (
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "min_value": "x"}},
            "invalid kwargs",
        ),
        (
            {
                "type": "expect_column_values_to_match_like_pattern",
                "kwargs": {"column": "order_id", "like_pattern": "a%"},
            },
            "GX has no Spark condition for 'column_values.match_like_pattern'",
        ),
        (
            {"type": "expect_column_values_to_be_dateutil_parseable", "kwargs": {"column": "order_id"}},
            "GX has no Spark condition for 'column_values.dateutil_parseable'",
        ),
        ({"type": "expect_column_values_to_be_increasing", "kwargs": {"column": "amount"}}, "has no order"),
        (
            {"type": "expect_column_pair_values_to_be_equal", "kwargs": {"column_A": "amount", "column_B": "amount"}},
            "pairs or lists of columns",
        ),
        (
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "amount"}, "meta": {"action": "drop"}},
            "meta.action 'drop' is not one of",
        ),
        (
            {"type": "expect_table_row_count_to_equal", "kwargs": {"value": 1}, "meta": {"action": "quarantine"}},
            "needs a row-level expectation",
        ),
    ],
)
def test_invalid_or_unsupported_expectations_name_file_expectation_and_reason(expectation: dict, fragment: str) -> None:
    good = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "amount"}}
    with pytest.raises(SuiteError) as info:
        parse_suite(_suite(good, expectation), SOURCE, CONTRACT)
    message = str(info.value)
    assert message.startswith(SOURCE)
    assert f"expectations[1] ({expectation['type']})" in message
    assert fragment in message


def test_not_json_is_a_suite_error() -> None:
    with pytest.raises(SuiteError, match="not valid JSON"):
        parse_suite("{", SOURCE, CONTRACT)
