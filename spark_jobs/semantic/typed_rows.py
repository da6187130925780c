"""Typed semantic candidates, each with the checks it fails.

Every row of the increment (after dedup) gets, in one projection: the typed value of
each contract field (before masking, so the suite sees real values), the field's
JSON text (for the errors table), one boolean column per check (the envelope, the
contract's casts and required fields, and every row expectation of the suite, with
GX's own condition), and ``_valid``: no check that quarantines failed.

The row's reasons (``_errors``: an array of ``struct<rule, column, reason>`` of the
failed checks that quarantine) are an expression over those flags, not a column:
building arrays for every row cost 5 s of 6 at 1M rows (measured 2026-12-04), so the
errors write builds them for the rows it writes, the invalid ones.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs.config.contract import FieldSpec, TopicContract
from spark_jobs.dedup.deduplicate import DEDUP_STATUS, FUTURE
from spark_jobs.parse.batch import TOO_LARGE
from spark_jobs.parse.casts import cast_text
from spark_jobs.parse.payload import MALFORMED, PARSE_FAILED, is_malformed, value_at
from spark_jobs.semantic.gx_engine import RowCondition

ERRORS = "_errors"
VALID = "_valid"
ROW_ID = "_row"
ERROR_TYPE = T.ArrayType(
    T.StructType(
        [
            T.StructField("rule", T.StringType()),
            T.StructField("column", T.StringType()),
            T.StructField("reason", T.StringType()),
        ]
    )
)


@dataclass(frozen=True)
class Check:
    """One check every row gets: its boolean column, and how a failure is named."""

    flag: str  # boolean column of the typed rows, true where the row fails the check
    key: str  # what the run report counts it under (``rule:column``, or the expectation's rule id)
    rule: str
    column: str
    quarantines: bool  # a failing row goes to the errors table (else it is only counted)


@dataclass(frozen=True)
class TypedRows:
    df: DataFrame
    checks: tuple[Check, ...]
    errors: Column
    """``_errors`` of a row of ``df`` (or of a frame keeping its columns); empty when valid."""

    def with_errors(self) -> DataFrame:
        return self.df.withColumn(ERRORS, self.errors)


def text_column(spec: FieldSpec) -> str:
    return f"_text__{spec.name}"


def fits_column(spec: FieldSpec) -> str:
    return f"_fits__{spec.name}"


def _cast_reason(spec: FieldSpec, text: Column) -> Column:
    if spec.pii != "none":  # never echo a PII value
        return F.lit(f"value does not fit {spec.type}")
    shown = F.substring(text, 1, 60)  # the contract says the field is not PII: shown as sent
    return F.concat(F.lit("value '"), shown, F.lit(f"' does not fit {spec.type}"))


FUTURE_KEY_PREFIX = "event-ts-in-future:"
"""Errors-table key of a future-dated version: ``event-ts-in-future:<key>:<message_id>``."""


def missing_key_id() -> Column:
    """Errors-table key of a raw row without a usable key: a digest of the whole row."""
    return F.concat(
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


def future_key_id() -> Column:
    """Errors-table key of a future-dated version (``FUTURE_KEY_PREFIX``)."""
    return F.concat(F.lit(FUTURE_KEY_PREFIX), F.col("idempotency_key"), F.lit(":"), F.col("message_id"))


def _envelope(parsed: DataFrame, contract: TopicContract) -> DataFrame:
    keyless = F.col(DEDUP_STATUS) == "missing_key"
    synthetic_key = missing_key_id()
    # A future-dated version must not take its key (dedup/deduplicate.py): quarantined
    # under a key of its own, which still shows the key and the message it came with.
    future = F.col(DEDUP_STATUS) == FUTURE
    future_key = future_key_id()
    return parsed.select(
        F.when(keyless, synthetic_key)
        .when(future, future_key)
        .otherwise(F.col("idempotency_key"))
        .alias("_idempotency_key"),
        F.col("message_id").alias("_message_id"),
        F.col("event_ts").alias("_event_ts"),
        F.col("ingest_ts").alias("_ingest_ts"),
        keyless.alias("_keyless"),
        future.alias("_future"),
        is_malformed().alias(MALFORMED),
        F.col(PARSE_FAILED),
        *[value_at(s.path).alias(text_column(s)) for s in contract.fields],
    )


def build_typed_values(parsed: DataFrame, contract: TopicContract) -> DataFrame:
    """Envelope, field texts and typed values: the batch GX's conditions apply to."""
    base = _envelope(parsed, contract)
    casts = {s.name: cast_text(F.col(text_column(s)), s) for s in contract.fields}
    values = [casts[s.name].value.alias(s.name) for s in contract.fields]
    # Whether each text fits, from the same cast (computed once, read by the cast checks).
    fits = [casts[s.name].fits.alias(fits_column(s)) for s in contract.fields]
    return base.select("*", *values, *fits)


def build_typed_rows(parsed: DataFrame, contract: TopicContract, conditions: Sequence[RowCondition]) -> TypedRows:
    """Typed values, one flag per check and ``_valid``; ``errors`` names the failed checks."""
    typed = build_typed_values(parsed, contract)
    well_formed = ~F.col(MALFORMED)
    flags: list[tuple[Check, Column, Column | str]] = [
        (
            Check(
                "_c__envelope",
                "envelope:missing_key:message_id/idempotency_key",
                "envelope:missing_key",
                "message_id/idempotency_key",
                True,
            ),
            F.col("_keyless"),
            "message_id or idempotency_key is missing or blank",
        ),
        (
            Check(
                "_c__future", "envelope:event_ts_in_future:event_ts", "envelope:event_ts_in_future", "event_ts", True
            ),
            F.col("_future"),
            F.concat(
                F.lit("event_ts "),
                F.col("_event_ts").cast("string"),
                F.lit(f" is more than {contract.max_event_ts_ahead_minutes} minutes after ingest_ts "),
                F.col("_ingest_ts").cast("string"),
                F.lit(": it cannot take its key (contract dedup.max_event_ts_ahead_minutes)"),
            ),
        ),
        (
            Check("_c__malformed", "payload:malformed_json:payload", "payload:malformed_json", "payload", True),
            F.col(MALFORMED) & F.col(PARSE_FAILED).isNull(),
            "payload is null or not a JSON object",
        ),
        (
            # A poison event (run/isolate_poison.py): the stages failed on it; its reason says how.
            Check("_c__parse_failed", "payload:parse_failed:payload", "payload:parse_failed", "payload", True),
            F.col(PARSE_FAILED).isNotNull() & ~F.col(PARSE_FAILED).startswith(TOO_LARGE),
            F.col(PARSE_FAILED),
        ),
        (
            Check("_c__too_large", "payload:too_large:payload", "payload:too_large", "payload", True),
            F.col(PARSE_FAILED).startswith(TOO_LARGE),
            F.col(PARSE_FAILED),
        ),
    ]
    for i, spec in enumerate(contract.fields):
        text = F.col(text_column(spec))
        rule = f"contract:type:{spec.type}"
        fits = F.col(fits_column(spec))
        flags.append(
            (Check(f"_c__cast{i}", f"{rule}:{spec.name}", rule, spec.name, True), ~fits, _cast_reason(spec, text))
        )
        if not spec.nullable:
            # A malformed payload has no fields to judge: its one reason is enough.
            flags.append(
                (
                    Check(f"_c__null{i}", f"contract:not_null:{spec.name}", "contract:not_null", spec.name, True),
                    well_formed & text.isNull(),
                    "required field is null or missing",
                )
            )
    windows = [c for c in conditions if c.window]
    if windows:
        typed = typed.withColumn(ROW_ID, F.monotonically_increasing_id())
    for i, condition in enumerate(conditions):
        e = condition.expectation
        check = Check(f"_c__x{i}", e.rule_id, e.type, e.column or "", e.action != "warn")
        if condition.window:
            typed = _with_window_flag(typed, contract, condition, check.flag)
            failed = F.col(check.flag)
        else:
            failed = well_formed & F.coalesce(condition.domain & condition.unexpected, F.lit(False))
        flags.append((check, failed, e.reason))

    flagged = typed.select(
        "*",
        *[F.coalesce(c, F.lit(False)).alias(check.flag) for check, c, _ in flags if check.flag not in typed.columns],
    )
    quarantining = [(check, reason) for check, _, reason in flags if check.quarantines]
    valid = ~reduce(operator.or_, [F.col(check.flag) for check, _ in quarantining])
    # A concat of arrays, not filter(array(...), e -> e IS NOT NULL): a lambda has no
    # code generation, so it and every check under it would be interpreted row by row.
    errors = F.concat(*[_error(F.col(check.flag), check, reason) for check, reason in quarantining])
    checks = tuple(check for check, _, _ in flags)
    out = flagged.withColumn(VALID, valid)
    helpers = [fits_column(s) for s in contract.fields] + ([ROW_ID] if windows else [])
    empty = F.array().cast(ERROR_TYPE)
    return TypedRows(out.drop(*helpers), checks, F.when(F.col(VALID), empty).otherwise(errors))


def _error(condition: Column, check: Check, reason: Column | str) -> Column:
    """A one-element error array where ``condition`` holds, else an empty one."""
    reason_col = F.lit(reason) if isinstance(reason, str) else reason
    error = F.struct(F.lit(check.rule).alias("rule"), F.lit(check.column).alias("column"), reason_col.alias("reason"))
    return F.when(condition, F.array(error).cast(ERROR_TYPE)).otherwise(F.array().cast(ERROR_TYPE))


WINDOW_INLINE_MAX = 10_000
"""Up to this many unexpected rows of a window condition are flagged by an id set; more are joined."""


def _with_window_flag(typed: DataFrame, contract: TopicContract, condition: RowCondition, flag: str) -> DataFrame:
    """Add ``flag`` for a window condition (uniqueness), computed as GX does: over its domain only.

    The window runs now (an action) on a narrow projection (row id and typed fields) of
    the rows in its domain, so the wide rows are neither sorted by it nor shuffled.
    Unexpected rows are usually few: their ids become an ``IN`` set; many are joined
    back. Row ids are stable across the two plans: both read the same cached parsed rows.
    """
    domain = typed.where(~F.col(MALFORMED) & condition.domain).select(ROW_ID, *contract.field_names)
    unexpected = domain.select(ROW_ID, condition.unexpected.alias(flag)).where(F.col(flag)).select(ROW_ID)
    ids = [row[0] for row in unexpected.limit(WINDOW_INLINE_MAX + 1).collect()]
    if len(ids) <= WINDOW_INLINE_MAX:
        return typed.withColumn(flag, F.col(ROW_ID).isin(ids) if ids else F.lit(False))
    joined = typed.join(unexpected.withColumn(flag, F.lit(True)), ROW_ID, "left")
    return joined.withColumn(flag, F.coalesce(F.col(flag), F.lit(False)))
