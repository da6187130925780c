"""GX decides per row: each row's reasons agree with GX's own validation of the same rows.

For every column-map expectation below (the five types of the first suites and more
than eight others), the rows the job quarantines for it are counted and compared
with the ``unexpected_count`` GX reports when it validates the same typed rows the
ordinary way (a GX context, a Spark batch, ``batch.validate``). The job's own GX
result, built from its single validation pass, must report the same counts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from spark_jobs.config.contract import parse_contract
from spark_jobs.config.suite import parse_suite
from spark_jobs.dedup.deduplicate import DEDUP_STATUS
from spark_jobs.parse.payload import infer_payload_structure, parse_payload, string_leaves, with_paths
from spark_jobs.semantic.gx_engine import SuiteEngine
from spark_jobs.semantic.typed_rows import ERRORS, MALFORMED, build_typed_rows, build_typed_values
from spark_jobs.semantic.validation_pass import validate

pytestmark = pytest.mark.spark
SCHEMA = (
    "message_id string, idempotency_key string, event_ts timestamp, ingest_ts timestamp, "
    f"payload string, {DEDUP_STATUS} string"
)
CONTRACT = parse_contract(
    """
topic: gxrows
fields:
  - {name: code, type: string}
  - {name: email, type: string, pii: hash}
  - {name: amount, type: "decimal(10,2)"}
  - {name: qty, type: int}
  - {name: day, type: string}
  - {name: doc, type: string}
  - {name: note, type: string}
  - {name: raw, type: string}
""",
    "contracts/gxrows.yaml",
)
PAYLOADS = {
    "k1": {
        "code": "AB-1",
        "email": "a@x.com",
        "amount": 10,
        "qty": 1,
        "day": "2026-01-31",
        "doc": '{"a": 1}',
        "raw": "[]",
    },
    "k2": {"code": "AB-22", "email": "b@x", "amount": 20, "qty": 2, "day": "31/01/2026", "doc": "{}", "raw": "{bad"},
    "k3": {
        "code": "XY-3",
        "email": "c@y.org",
        "amount": -5,
        "qty": 3,
        "day": "2026-02-30",
        "doc": '{"a": "x"}',
        "raw": "nope",
    },
    "k4": {"code": "AB-1", "amount": 30, "qty": 40, "day": "2026-03-01", "doc": "[1]", "note": "hi"},
    "k5": {"code": "test-9", "email": "d@x.com", "amount": 99999, "qty": 5, "day": "2026-7-4", "doc": '{"b": 2}'},
    "k6": {"email": "e@x.com", "amount": 15, "qty": 6, "day": "2026-04-01", "note": "hello"},
    "k7": {"code": "AB-7", "email": "f@x.com", "amount": 12, "qty": 7, "day": "2026-05-05", "doc": '{"a": 3}'},
    "k8": {"code": "AB-8", "email": "g@x.com", "amount": 11, "qty": 8, "day": "2026-06-06", "doc": '{"a": 4}'},
}
EXPECTATIONS: list[dict[str, Any]] = [
    # the five types of the first suites
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "code"}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "email", "regex": "^[^@]+@[^@]+\\.[a-z]+$"}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "amount", "min_value": 0, "max_value": 1000}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "qty", "value_set": [1, 2, 3, 5, 6, 7, 8]}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "code"}},
    # new column-map types
    {"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "code", "min_value": 4, "max_value": 4}},
    {"type": "expect_column_value_lengths_to_equal", "kwargs": {"column": "day", "value": 10}},
    {
        "type": "expect_column_values_to_match_strftime_format",
        "kwargs": {"column": "day", "strftime_format": "%Y-%m-%d"},
    },
    {"type": "expect_column_values_to_not_match_regex", "kwargs": {"column": "code", "regex": "^test"}},
    {"type": "expect_column_values_to_match_regex_list", "kwargs": {"column": "code", "regex_list": ["^AB", "^XY"]}},
    {
        "type": "expect_column_values_to_not_match_regex_list",
        "kwargs": {"column": "email", "regex_list": ["@y\\.", "^e@"]},
    },
    {"type": "expect_column_values_to_not_be_in_set", "kwargs": {"column": "qty", "value_set": [40, 41]}},
    {"type": "expect_column_values_to_be_json_parseable", "kwargs": {"column": "raw"}},
    {
        "type": "expect_column_values_to_match_json_schema",
        "kwargs": {"column": "doc", "json_schema": {"type": "object", "properties": {"a": {"type": "integer"}}}},
    },
    {"type": "expect_column_values_to_be_null", "kwargs": {"column": "note"}},
    {
        "type": "expect_column_value_z_scores_to_be_less_than",
        "kwargs": {"column": "amount", "threshold": 2, "double_sided": True},
    },
    # mostly changes GX's success, not which rows are unexpected; a row_condition narrows the domain
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "code", "regex": "^AB", "mostly": 0.5}},
    {
        "type": "expect_column_values_to_be_between",
        "kwargs": {"column": "amount", "max_value": 11, "row_condition": "qty > 6", "condition_parser": "spark"},
    },
]
NEW_TYPES = {e["type"] for e in EXPECTATIONS[5:16]}


@pytest.fixture(scope="module")
def judged(spark):
    suite = parse_suite(
        json.dumps({"name": "gxrows", "expectations": EXPECTATIONS}), "expectations/gxrows.json", CONTRACT
    )
    rows = [(f"m-{k}", k, None, None, json.dumps(p), "kept") for k, p in PAYLOADS.items()]
    df = spark.createDataFrame(rows, SCHEMA)
    structure = with_paths(infer_payload_structure(spark, df), [f.path for f in CONTRACT.fields])
    parsed = parse_payload(df, string_leaves(structure)).cache()
    engine = SuiteEngine(spark)
    conditions = engine.row_conditions(suite, build_typed_values(parsed, CONTRACT))
    typed_rows = build_typed_rows(parsed, CONTRACT, conditions)
    typed = typed_rows.with_errors().cache()
    outcome = validate(typed, typed_rows.checks, suite, CONTRACT, engine)
    return suite, typed, outcome


def _key(config: Any) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}  # the batch's id is added by GX
    return json.dumps([config.type, kwargs], sort_keys=True, default=str)


def _gx_own_validation(typed, suite) -> list[dict[str, Any]]:
    """GX's ordinary validation of the same typed rows, in the suite's order."""
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_spark(name="reference").add_dataframe_asset(name="rows")
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": typed.where(~typed[MALFORMED]).select(*CONTRACT.field_names)}
    )
    gx_suite = context.suites.add(
        gx.ExpectationSuite(
            name="reference",
            expectations=[
                gx.expectations.registry.get_expectation_impl(e["type"])(**e["kwargs"]) for e in EXPECTATIONS
            ],
        )
    )
    result = batch.validate(gx_suite, result_format="SUMMARY")
    by_config = {
        _key(r.expectation_config): {"success": r.success, "unexpected_count": r.result["unexpected_count"]}
        for r in result.results
    }
    return [by_config[_key(e.gx_expectation().configuration)] for e in suite.expectations]


def test_at_least_eight_new_column_map_types_judge_rows(judged) -> None:
    suite, _, _ = judged
    assert len(NEW_TYPES) >= 8
    assert all(e.kind == "row" for e in suite.expectations)


def test_each_rows_reasons_match_gx_unexpected_counts(judged) -> None:
    suite, typed, outcome = judged
    reference = _gx_own_validation(typed, suite)
    errors = [e for row in typed.select(ERRORS).collect() for e in row[ERRORS]]
    for expectation, gx_result, ours in zip(suite.expectations, reference, outcome.expectations, strict=True):
        quarantined = sum(
            1
            for e in errors
            if (e.rule, e.column, e.reason) == (expectation.type, expectation.column, expectation.reason)
        )
        assert quarantined == gx_result["unexpected_count"], expectation.rule_id
        assert ours["unexpected_count"] == gx_result["unexpected_count"], expectation.rule_id
        assert ours["success"] == gx_result["success"], expectation.rule_id
    # the checks must have found something, or the comparison proves nothing
    assert sum(r["unexpected_count"] for r in reference[5:16]) >= 11
    assert all(r["unexpected_count"] > 0 for r in reference)


def test_rows_name_the_expectation_and_its_kwargs(judged) -> None:
    _, typed, _ = judged
    reasons = {
        r["_idempotency_key"]: sorted(
            e.reason for e in r[ERRORS] if e.rule == "expect_column_values_to_match_strftime_format"
        )
        for r in typed.collect()
    }
    failing = {k for k, v in reasons.items() if v}
    assert failing == {"k2", "k3"}  # 31/01/2026 and 2026-02-30; 2026-7-4 parses (strptime takes unpadded digits)
    assert reasons["k2"] == ['expect_column_values_to_match_strftime_format {"strftime_format": "%Y-%m-%d"}']


def test_mostly_and_row_condition(judged) -> None:
    _, _, outcome = judged
    by_rule = {e["rule"]: e for e in outcome.expectations}
    ab = by_rule["expect_column_values_to_match_regex:code"]
    assert ab["unexpected_count"] == 2 and ab["success"] is True  # 2 of 7 non-null, mostly 0.5
    assert outcome.failed_checks["expect_column_values_to_match_regex:code"] == 2  # still quarantined
    conditioned = by_rule["expect_column_values_to_be_between:amount#2"]
    # domain qty > 6: k4 (30), k7 (12) unexpected, k8 (11) fits
    assert conditioned["element_count"] == 3 and conditioned["unexpected_count"] == 2


def test_partial_unexpected_values_hide_pii(judged) -> None:
    _, _, outcome = judged
    by_rule = {e["rule"]: e for e in outcome.expectations}
    assert by_rule["expect_column_values_to_match_regex:email"]["partial_unexpected_list"] == ["[pii: not shown]"]
    assert by_rule["expect_column_value_lengths_to_equal:day"]["partial_unexpected_list"] == ["2026-7-4"]
    assert by_rule["expect_column_values_to_not_be_in_set:qty"]["partial_unexpected_list"] == ["40"]
    assert outcome.result is not None and outcome.result.statistics["evaluated_expectations"] == len(EXPECTATIONS)


def test_window_condition_joined_when_too_many_ids(spark, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the inline limit, uniqueness flags are joined back: the same rows are flagged."""
    from spark_jobs.semantic import typed_rows

    unique_only = parse_suite(
        json.dumps({"expectations": [e for e in EXPECTATIONS if e["type"] == "expect_column_values_to_be_unique"]}),
        "expectations/gxrows.json",
        CONTRACT,
    )
    rows = [(f"m-{k}", k, None, None, json.dumps(p), "kept") for k, p in PAYLOADS.items()]
    df = spark.createDataFrame(rows, SCHEMA)
    structure = with_paths(infer_payload_structure(spark, df), [f.path for f in CONTRACT.fields])
    source = parse_payload(df, string_leaves(structure)).cache()
    engine = SuiteEngine(spark)
    conditions = engine.row_conditions(unique_only, build_typed_values(source, CONTRACT))

    def flagged() -> set[str]:
        out = build_typed_rows(source, CONTRACT, conditions).with_errors()
        return {r["_idempotency_key"] for r in out.collect() if r[ERRORS]}

    inline = flagged()
    monkeypatch.setattr(typed_rows, "WINDOW_INLINE_MAX", 0)
    assert flagged() == inline == {"k1", "k4"}  # both AB-1


def test_conditions_need_the_rows_only_when_gx_needs_their_statistics(spark) -> None:
    """Resolved on an empty batch unless GX's condition needs column statistics (z-score)."""
    suite = parse_suite(
        json.dumps({"name": "gxrows", "expectations": EXPECTATIONS}), "expectations/gxrows.json", CONTRACT
    )
    rows = [(f"m-{k}", k, None, None, json.dumps(p), "kept") for k, p in PAYLOADS.items()]
    df = spark.createDataFrame(rows, SCHEMA)
    structure = with_paths(infer_payload_structure(spark, df), [f.path for f in CONTRACT.fields])
    typed_values = build_typed_values(parse_payload(df, string_leaves(structure)), CONTRACT)
    engine = SuiteEngine(spark)
    engine.load(spark.createDataFrame([], typed_values.schema))
    on_rows = {e.type for e in suite.of_kind("row") if engine.depends_on_rows(engine._condition_configuration(e))}
    assert on_rows == {"expect_column_value_z_scores_to_be_less_than"}
