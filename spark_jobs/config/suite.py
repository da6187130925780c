"""Great Expectations suite of a topic: loaded, checked against the contract.

The suite decides which semantic rows fail. GX 1.x has no per-row pass/fail output,
so each supported expectation type is also translated to a Spark predicate
(``semantic/row_rules.py``) and GX's own validation of the same batch is run for its
results; the two must agree on unexpected counts (the run report says whether they do).
Only expectation types with an exact row-level meaning are accepted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from spark_jobs.config.contract import TopicContract
from spark_jobs.config.storage import read_text
from spark_jobs.exceptions import SuiteError

SUPPORTED_EXPECTATIONS: dict[str, tuple[set[str], set[str]]] = {
    # type: (required kwargs, optional kwargs)
    "expect_column_values_to_not_be_null": ({"column"}, set()),
    "expect_column_values_to_match_regex": ({"column", "regex"}, set()),
    "expect_column_values_to_be_between": (
        {"column"},
        {"min_value", "max_value", "strict_min", "strict_max"},
    ),
    "expect_column_values_to_be_in_set": ({"column", "value_set"}, set()),
    "expect_column_values_to_be_unique": ({"column"}, set()),
}


@dataclass(frozen=True)
class RowRule:
    """One expectation of the suite, applied to every row."""

    expectation_type: str
    column: str
    kwargs: tuple[tuple[str, Any], ...]

    @property
    def rule_id(self) -> str:
        return f"{self.expectation_type}:{self.column}"

    def kwarg(self, name: str, default: Any = None) -> Any:
        return dict(self.kwargs).get(name, default)


@dataclass(frozen=True)
class TopicSuite:
    """The validated suite: its rules and the raw document for GX."""

    name: str
    rules: tuple[RowRule, ...]
    document: dict[str, Any]
    source: str


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
    rules = tuple(_parse_expectation(item, index, source, contract) for index, item in enumerate(doc["expectations"]))
    name = str(doc.get("name") or contract.topic)
    return TopicSuite(name=name, rules=rules, document=doc, source=source)


def _parse_expectation(item: Any, index: int, source: str, contract: TopicContract) -> RowRule:
    if not isinstance(item, dict):
        raise SuiteError(source, f"expectations[{index}] must be an object")
    type_ = item.get("type") or item.get("expectation_type")
    if type_ not in SUPPORTED_EXPECTATIONS:
        raise SuiteError(
            source,
            f"expectations[{index}]: type {type_!r} is not supported for row-level "
            f"quarantine; use one of {sorted(SUPPORTED_EXPECTATIONS)}",
        )
    kwargs = item.get("kwargs")
    if not isinstance(kwargs, dict):
        raise SuiteError(source, f"expectations[{index}] ({type_}): 'kwargs' must be an object")
    required, optional = SUPPORTED_EXPECTATIONS[type_]
    missing = required - set(kwargs)
    if missing:
        raise SuiteError(source, f"expectations[{index}] ({type_}): missing kwargs {sorted(missing)}")
    # 'mostly' and result options are accepted by GX but have no row-level meaning.
    extra = set(kwargs) - required - optional - {"mostly", "result_format", "catch_exceptions", "meta"}
    if extra:
        raise SuiteError(source, f"expectations[{index}] ({type_}): unknown kwargs {sorted(extra)}")
    column = kwargs["column"]
    if contract.field(column) is None:
        raise SuiteError(
            source,
            f"expectations[{index}] ({type_}) references column {column!r}, which is not a "
            f"field of {contract.source} (fields: {', '.join(contract.field_names)})",
            field=column,
        )
    _check_kwargs(type_, kwargs, index, source, column)
    clean = tuple(sorted((k, _freeze(v)) for k, v in kwargs.items() if k in required | optional))
    return RowRule(expectation_type=type_, column=column, kwargs=clean)


def _check_kwargs(type_: str, kwargs: dict[str, Any], index: int, source: str, column: str) -> None:
    where = f"expectations[{index}] ({type_})"
    if type_ == "expect_column_values_to_match_regex":
        try:
            re.compile(kwargs["regex"])
        except (re.error, TypeError) as exc:
            raise SuiteError(source, f"{where}: invalid regex {kwargs['regex']!r}: {exc}", field=column) from exc
    between = type_ == "expect_column_values_to_be_between"
    if between and kwargs.get("min_value") is None and kwargs.get("max_value") is None:
        raise SuiteError(source, f"{where}: needs min_value or max_value", field=column)
    in_set = type_ == "expect_column_values_to_be_in_set"
    if in_set and (not isinstance(kwargs["value_set"], list) or not kwargs["value_set"]):
        raise SuiteError(source, f"{where}: value_set must be a non-empty list", field=column)


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
