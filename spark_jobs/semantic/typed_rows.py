"""Typed semantic candidates with the per-row list of failed rules.

Every row of the increment (after dedup) gets, in one projection: the typed value of
each contract field (before masking, so the suite sees real values), the field's
JSON text (for the errors table), and ``_errors``: an array of
``struct<rule, column, reason>``. A row is valid when ``_errors`` is empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs.config.contract import FieldSpec, TopicContract
from spark_jobs.config.suite import TopicSuite
from spark_jobs.dedup.deduplicate import DEDUP_STATUS
from spark_jobs.parse.casts import cast_text
from spark_jobs.parse.payload import is_malformed, value_at
from spark_jobs.semantic.pii import shown_unless_pii
from spark_jobs.semantic.row_rules import describe, failure_condition, flag_repeated_values, repeated_flag

ERRORS = "_errors"
VALID = "_valid"
ERROR_TYPE = T.ArrayType(
    T.StructType(
        [
            T.StructField("rule", T.StringType()),
            T.StructField("column", T.StringType()),
            T.StructField("reason", T.StringType()),
        ]
    )
)


def text_column(spec: FieldSpec) -> str:
    return f"_text__{spec.name}"


def _error(condition: Column, rule: str, column: str, reason: Column | str) -> Column:
    """A one-element error array where ``condition`` holds, else an empty one."""
    reason_col = F.lit(reason) if isinstance(reason, str) else reason
    error = F.struct(F.lit(rule).alias("rule"), F.lit(column).alias("column"), reason_col.alias("reason"))
    return F.when(condition, F.array(error).cast(ERROR_TYPE)).otherwise(F.array().cast(ERROR_TYPE))


def _cast_reason(spec: FieldSpec, text: Column) -> Column:
    if spec.pii != "none":  # never echo a PII value
        return F.lit(f"value does not fit {spec.type}")
    shown = shown_unless_pii(text, 60)
    return F.concat(F.lit("value '"), shown, F.lit(f"' does not fit {spec.type}"))


def build_typed_rows(parsed: DataFrame, contract: TopicContract, suite: TopicSuite) -> DataFrame:
    """Typed candidates with ``_errors`` and ``_valid``; envelope columns renamed."""
    keyless = F.col(DEDUP_STATUS) == "missing_key"
    synthetic_key = F.concat(
        F.lit("missing-key:"),
        F.sha2(
            F.concat_ws(
                "|",
                F.coalesce("message_id", F.lit("")),
                F.coalesce("idempotency_key", F.lit("")),
                F.coalesce(F.col("ingest_ts").cast("string"), F.lit("")),
                F.coalesce("payload", F.lit("")),
            ),
            256,
        ),
    )
    base = parsed.select(
        F.when(keyless, synthetic_key).otherwise(F.col("idempotency_key")).alias("_idempotency_key"),
        F.col("message_id").alias("_message_id"),
        F.col("event_ts").alias("_event_ts"),
        F.col("ingest_ts").alias("_ingest_ts"),
        keyless.alias("_keyless"),
        is_malformed().alias("_malformed"),
        *[value_at(s.path).alias(text_column(s)) for s in contract.fields],
    )
    casts = {s.name: cast_text(F.col(text_column(s)), s) for s in contract.fields}
    typed = base.select("*", *[casts[s.name].value.alias(s.name) for s in contract.fields])
    uniqueness = [r for r in suite.rules if r.expectation_type == "expect_column_values_to_be_unique"]
    for rule in uniqueness:
        typed = flag_repeated_values(typed, rule)

    errors: list[Column] = [
        _error(
            F.col("_keyless"),
            "envelope:missing_key",
            "message_id/idempotency_key",
            "message_id or idempotency_key is missing or blank",
        ),
        _error(F.col("_malformed"), "payload:malformed_json", "payload", "payload is null or not a JSON object"),
    ]
    # A malformed payload has no fields to judge: its one reason is enough.
    parsed_ok = ~F.col("_malformed")
    for spec in contract.fields:
        text = F.col(text_column(spec))
        errors.append(_error(~casts[spec.name].fits, f"contract:type:{spec.type}", spec.name, _cast_reason(spec, text)))
        if not spec.nullable:
            errors.append(
                _error(parsed_ok & text.isNull(), "contract:not_null", spec.name, "required field is null or missing")
            )
    for rule in suite.rules:
        failed = parsed_ok & failure_condition(rule, F.col(rule.column))
        errors.append(_error(failed, rule.expectation_type, rule.column, describe(rule)))

    # A concat of arrays, not filter(array(...), e -> e IS NOT NULL): a lambda has no
    # code generation, so it and every rule under it would be interpreted row by row.
    error_list = F.concat(*errors)
    flags = [repeated_flag(r) for r in uniqueness]
    return typed.withColumn(ERRORS, error_list).withColumn(VALID, F.size(ERRORS) == 0).drop(*flags)


@dataclass(frozen=True)
class ValidationSummary:
    """Valid rows, and rows per failed rule id (``rule:column``), of the increment."""

    valid_rows: int
    failed_rules: dict[str, int]


def summarise_validation(typed: DataFrame) -> ValidationSummary:
    """Both figures from one pass over ``typed`` (a valid row explodes to one null)."""
    error = F.explode_outer(ERRORS).alias("e")
    rule = F.when(F.col("e").isNotNull(), F.concat_ws(":", "e.rule", "e.column")).alias("rule")
    rows = typed.select(error).groupBy(rule).count().collect()
    valid = sum(int(r["count"]) for r in rows if r["rule"] is None)
    return ValidationSummary(valid, {r["rule"]: int(r["count"]) for r in rows if r["rule"] is not None})
