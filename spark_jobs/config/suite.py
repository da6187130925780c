"""Great Expectations suite of a topic: loaded, checked against the contract and GX.

Every expectation is instantiated by GX itself (so its kwargs are GX's own checks),
then classified by how the job can apply it:

- ``row``: a column-map expectation whose unexpected condition GX builds as a Spark
  ``Column``; that condition judges every row (``semantic/expectations.py``).
- ``batch``: any other expectation GX runs on Spark (row count, mean, uniqueness of
  a column set, ...); judged once on the batch of typed rows.

Each has an action, read from the expectation's ``meta.action``: ``quarantine`` (the
default for row expectations: a failing row goes to the errors table), ``warn``
(counted and reported, the row is kept; the default for batch expectations) or
``fail`` (the semantic layer fails when GX judges the expectation unsuccessful).
An expectation the job cannot apply is a ``SuiteError`` naming the suite file, the
expectation and why, raised before the job reads or writes anything.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from spark_jobs.config.contract import TopicContract
from spark_jobs.config.storage import read_text
from spark_jobs.exceptions import SuiteError

if TYPE_CHECKING:
    from great_expectations.expectations.expectation import Expectation

Action = Literal["quarantine", "warn", "fail"]
Kind = Literal["row", "batch"]
ACTIONS: tuple[Action, ...] = ("quarantine", "warn", "fail")

# Column-map expectations GX ships whose Spark condition cannot judge a row of an
# event batch, and why. Anything else without a Spark condition is refused too.
_ROW_ORDER_REASON = (
    "GX judges it on the order of the batch's rows (a window over a constant), and a batch of events has no order"
)
UNSUPPORTED_REASONS: dict[str, str] = {
    "expect_column_values_to_be_increasing": _ROW_ORDER_REASON,
    "expect_column_values_to_be_decreasing": _ROW_ORDER_REASON,
}
# Batch expectations that need something outside the batch (another table, a query).
_OUTSIDE_THE_BATCH = {
    "unexpected_rows_expectation",
    "expect_query_results_to_match_comparison",
    "expect_table_row_count_to_equal_other_table",
}


@dataclass(frozen=True)
class SuiteExpectation:
    """One expectation of the suite as the job applies it."""

    index: int
    type: str
    kwargs_json: str  # the kwargs as written (sorted JSON): hashable, and the text errors show
    column: str | None
    action: Action
    kind: Kind
    rule_id: str

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(json.loads(self.kwargs_json))

    @property
    def where(self) -> str:
        """How a message names it: ``expectations[3] (expect_...)``."""
        return f"expectations[{self.index}] ({self.type})"

    @property
    def reason(self) -> str:
        """The row's reason in the errors table: the expectation and its arguments."""
        shown = {k: v for k, v in self.kwargs.items() if k != "column"}
        return f"{self.type} {json.dumps(shown, sort_keys=True)}" if shown else self.type

    def gx_expectation(self) -> Expectation:
        from great_expectations.expectations.registry import get_expectation_impl

        return get_expectation_impl(self.type)(**self.kwargs)


@dataclass(frozen=True)
class TopicSuite:
    """The validated suite: its expectations and where it was read from."""

    name: str
    expectations: tuple[SuiteExpectation, ...]
    source: str

    def of_kind(self, kind: Kind) -> tuple[SuiteExpectation, ...]:
        return tuple(e for e in self.expectations if e.kind == kind)


def load_suite(uri: str, contract: TopicContract) -> TopicSuite:
    """Read and validate ``<dir>/<topic>.json`` against ``contract``."""
    try:
        text = read_text(uri)
    except FileNotFoundError as exc:
        raise SuiteError(uri, "suite file not found") from exc
    return parse_suite(text, uri, contract)


def parse_suite(text: str, source: str, contract: TopicContract) -> TopicSuite:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SuiteError(source, f"not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("expectations"), list):
        raise SuiteError(source, "expected an object with a list 'expectations'")
    parsed = [_parse_expectation(item, index, source, contract) for index, item in enumerate(doc["expectations"])]
    seen: dict[str, int] = {}
    expectations = []
    for item in parsed:  # a rule id names one expectation, even when two share type and column
        seen[item.rule_id] = seen.get(item.rule_id, 0) + 1
        if seen[item.rule_id] > 1:
            item = _replace_rule_id(item, f"{item.rule_id}#{seen[item.rule_id]}")
        expectations.append(item)
    name = str(doc.get("name") or contract.topic)
    return TopicSuite(name=name, expectations=tuple(expectations), source=source)


def _replace_rule_id(item: SuiteExpectation, rule_id: str) -> SuiteExpectation:
    from dataclasses import replace

    return replace(item, rule_id=rule_id)


def _parse_expectation(item: Any, index: int, source: str, contract: TopicContract) -> SuiteExpectation:
    if not isinstance(item, dict):
        raise SuiteError(source, f"expectations[{index}] must be an object")
    type_ = item.get("type") or item.get("expectation_type")
    where = f"expectations[{index}] ({type_})"
    if not isinstance(type_, str) or not type_:
        raise SuiteError(source, f"expectations[{index}] has no 'type'")
    kwargs = item.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise SuiteError(source, f"{where}: 'kwargs' must be an object")
    column = kwargs.get("column")
    for name in _columns_named(kwargs):
        if contract.field(name) is None:
            raise SuiteError(
                source,
                f"{where} references column {name!r}, which is not a field of {contract.source} "
                f"(fields: {', '.join(contract.field_names)})",
                field=name,
            )
    expectation = _instantiate(type_, kwargs, where, source, column)  # GX checks the kwargs
    kind = _kind(type(expectation), type_, where, source, column)
    meta = item.get("meta") or {}
    action = meta.get("action", "quarantine" if kind == "row" else "warn") if isinstance(meta, dict) else None
    if action not in ACTIONS:
        raise SuiteError(source, f"{where}: meta.action {action!r} is not one of {list(ACTIONS)}", field=column)
    if action == "quarantine" and kind == "batch":
        raise SuiteError(
            source,
            f"{where}: meta.action 'quarantine' needs a row-level expectation; this one is judged on the "
            "whole batch, so use 'warn' or 'fail'",
            field=column,
        )
    rule_id = f"{type_}:{column}" if column else type_
    return SuiteExpectation(
        index=index,
        type=type_,
        kwargs_json=json.dumps(kwargs, sort_keys=True),  # as written: what errors and reports show
        column=column,
        action=action,
        kind=kind,
        rule_id=rule_id,
    )


def _columns_named(kwargs: dict[str, Any]) -> list[str]:
    names = [kwargs[k] for k in ("column", "column_A", "column_B") if isinstance(kwargs.get(k), str)]
    names += [c for c in kwargs.get("column_list") or [] if isinstance(c, str)]
    return names


def _instantiate(type_: str, kwargs: dict[str, Any], where: str, source: str, column: str | None) -> Expectation:
    registry = _gx_registry()
    known = registry._registered_expectations
    if type_ not in known:
        raise SuiteError(
            source,
            f"{where}: not an expectation type Great Expectations knows{_did_you_mean(type_, known)}",
            field=column,
        )
    try:
        expectation = registry.get_expectation_impl(type_)(**kwargs)
    except Exception as exc:  # pydantic's ValidationError, or GX's own checks
        problem = " ".join(str(exc).split())
        raise SuiteError(source, f"{where}: invalid kwargs: {problem[:400]}", field=column) from exc
    # GX accepts any string as a regex; Spark would fail on it mid-run, after the read.
    for pattern in [kwargs.get("regex"), *(kwargs.get("regex_list") or [])]:
        if isinstance(pattern, str):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise SuiteError(source, f"{where}: invalid regex {pattern!r}: {exc}", field=column) from exc
    return expectation


def _did_you_mean(type_: str, known: Iterable[str]) -> str:
    """The closest names in GX's registry (its names are snake_case: case is forgiven)."""
    by_lower = {name.lower(): name for name in known}
    if type_.lower() in by_lower:
        return f"; did you mean {by_lower[type_.lower()]!r}?"
    close = difflib.get_close_matches(type_.lower(), list(by_lower), n=3, cutoff=0.75)
    return f"; did you mean {' or '.join(repr(by_lower[c]) for c in close)}?" if close else ""


def _kind(expectation: type[Expectation], type_: str, where: str, source: str, column: str | None) -> Kind:
    """How the job applies an expectation class (decided from GX's registry, not a list)."""
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )

    if type_ in UNSUPPORTED_REASONS:
        raise SuiteError(source, f"{where}: not supported: {UNSUPPORTED_REASONS[type_]}", field=column)
    if issubclass(expectation, ColumnPairMapExpectation | MulticolumnMapExpectation):
        raise SuiteError(
            source,
            f"{where}: not supported: expectations over pairs or lists of columns are not applied per row yet; "
            "express the check on one column",
            field=column,
        )
    if issubclass(expectation, ColumnMapExpectation):
        condition = f"{expectation.map_metric}.condition"
        if condition in _spark_metrics():
            return "row"
        if expectation.map_metric in _SPARK_TYPE_METRICS:
            return "batch"  # GX judges column types from the schema, not per row
        raise SuiteError(
            source,
            f"{where}: not supported: GX has no Spark condition for {expectation.map_metric!r} (it computes "
            "this check only in pandas or SQL), so it cannot judge rows here; express it with "
            "expect_column_values_to_match_regex or not_match_regex",
            field=column,
        )
    if type_ in _OUTSIDE_THE_BATCH:
        raise SuiteError(source, f"{where}: not supported: it needs data outside the batch of typed rows", field=column)
    missing = [m for m in _metric_names(expectation) if m not in _spark_metrics()]
    if missing:
        raise SuiteError(source, f"{where}: not supported: GX computes {missing} only outside Spark", field=column)
    return "batch"


# GX judges these on Spark from the table's column types (a batch-level answer).
_SPARK_TYPE_METRICS = {"column_values.of_type", "column_values.in_type_list"}


def _metric_names(expectation: type[Expectation]) -> list[str]:
    """The metrics a batch expectation declares it needs (without resolving any)."""
    metrics = getattr(expectation, "metric_dependencies", ()) or ()
    return [m for m in metrics if isinstance(m, str)]


@cache
def _spark_metrics() -> frozenset[str]:
    registry = _gx_registry()
    return frozenset(
        name
        for name, entry in registry._registered_metrics.items()
        if "SparkDFExecutionEngine" in entry.get("providers", {})
    )


def _gx_registry() -> Any:
    """GX's expectation registry, imported on first use (the import takes seconds)."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations  # noqa: F401  (registers GX's expectations and metrics)
    from great_expectations.expectations import registry

    return registry
