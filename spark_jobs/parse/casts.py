"""Strict casts of payload text to contract types: a value that does not fit is
flagged (``fits`` false), never turned into a silent null. Shared by drift detection
(type mismatches) and the semantic layer (row errors), so the rule exists once."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F

from spark_jobs.config.contract import FieldSpec

_INTEGER = r"^\s*[-+]?\d+\s*$"
_DATE = r"^\s*\d{4}-\d{2}-\d{2}\s*$"
_TIMESTAMP = r"^\s*\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"
_SPARK_TYPES = {"int": "int", "long": "bigint", "double": "double", "date": "date", "timestamp": "timestamp"}


@dataclass(frozen=True)
class CastResult:
    """The typed value, and whether the text fits the type (true for null text)."""

    value: Column
    fits: Column


def cast_text(text: Column, spec: FieldSpec) -> CastResult:
    """Cast JSON text to ``spec.type`` strictly (rules in contracts/README.md)."""
    type_ = spec.type
    if type_ == "string":
        return CastResult(text, F.lit(True))
    if type_ == "boolean":
        lowered = F.lower(F.trim(text))
        value = F.when(lowered == "true", F.lit(True)).when(lowered == "false", F.lit(False))
        return _result(text, value.cast("boolean"), lowered.isin("true", "false"))
    decimal = spec.decimal_precision_scale
    if decimal is not None:
        return _result(text, *_exact_decimal(text, *decimal))
    value = text.cast(_SPARK_TYPES[type_])
    if type_ == "double":
        # NaN and Infinity (sent as tokens, or 1e400 overflowing) are no values of a column
        finite = ~F.isnan(value) & (F.abs(value) != F.lit(float("inf")))
        return _result(text, value, value.isNotNull() & finite)
    shape = {"int": _INTEGER, "long": _INTEGER, "date": _DATE, "timestamp": _TIMESTAMP}.get(type_)
    fits = value.isNotNull() if shape is None else value.isNotNull() & text.rlike(shape)
    return _result(text, value, fits)


def _exact_decimal(text: Column, precision: int, scale: int) -> tuple[Column, Column]:
    """The decimal and whether it holds the text's value exactly.

    Spark's cast rounds extra fraction digits (half up) and nulls an overflow, so a value
    fits when the cast is not null and the text needs at most ``scale`` fraction digits:
    plain ``12.50`` (trailing zeros do not count), or ``1.2345E2`` (4 - 2 = 2 digits).
    """
    value = text.cast(f"decimal({precision},{scale})")
    plain = text.rlike(rf"^\s*[-+]?\d+(\.\d{{0,{scale}}}0*)?\s*$")
    exponent_form = r"^\s*[-+]?\d+(?:\.(\d*?)0*)?[eE]([-+]?\d{1,9})\s*$"
    fraction_digits = F.length(F.regexp_extract(text, exponent_form, 1)) - F.regexp_extract(
        text, exponent_form, 2
    ).cast("int")
    exponent = text.rlike(exponent_form) & (fraction_digits <= scale)
    return value, value.isNotNull() & (plain | exponent)


def _result(text: Column, value: Column, fits_when_present: Column) -> CastResult:
    fits = text.isNull() | F.coalesce(fits_when_present, F.lit(False))
    return CastResult(F.when(fits, value), fits)
