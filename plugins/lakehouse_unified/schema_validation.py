"""Is a topic's contract + suite present and valid? (``check_schema_exists``; pure).

The job's own validation is used when its package and Great Expectations are
importable (``spark_jobs.config.contract`` / ``spark_jobs.config.suite`` import no
Spark; the suite loader asks GX whether each expectation exists, takes its kwargs
and can judge rows on Spark), so Airflow and the job can never disagree on what a
valid contract or suite is, and report a bad one with the same message. GX is
imported when the task runs, never when the DAG file is parsed. Where the job is not
installed next to Airflow (e.g. MWAA running ``runtime: emr_serverless``), a
structural check stands in: the YAML parses with ``topic`` and ``fields``, the suite
JSON parses with a list ``expectations``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.util import find_spec
from typing import Any

import yaml

Validator = Callable[[str, str, str, str], None]
"""(contract_text, contract_source, suite_text, suite_source) -> None; raises ValueError naming the file."""


class SchemaInvalid(ValueError):
    """The contract or the suite of a topic is not usable; the message names the file and the problem."""


def basic_validator(contract_text: str, contract_source: str, suite_text: str, suite_source: str) -> None:
    """Structural checks only (used when the job's package is not importable)."""
    try:
        doc = yaml.safe_load(contract_text)
    except yaml.YAMLError as exc:
        raise SchemaInvalid(f"{contract_source}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("topic"), str):
        raise SchemaInvalid(f"{contract_source}: expected a mapping with a string 'topic'")
    if not isinstance(doc.get("fields"), list) or not doc["fields"]:
        raise SchemaInvalid(f"{contract_source}: 'fields' must be a non-empty list")
    try:
        suite = json.loads(suite_text)
    except json.JSONDecodeError as exc:
        raise SchemaInvalid(f"{suite_source}: not valid JSON: {exc}") from exc
    if not isinstance(suite, dict) or not isinstance(suite.get("expectations"), list):
        raise SchemaInvalid(f"{suite_source}: expected an object with a list 'expectations'")


def job_validator(contract_text: str, contract_source: str, suite_text: str, suite_source: str) -> None:
    """The job's loader: ``parse_contract`` + ``parse_suite`` (raise ``ContractError``, a ValueError)."""
    from spark_jobs.config.contract import parse_contract
    from spark_jobs.config.suite import parse_suite

    try:
        contract = parse_contract(contract_text, contract_source)
        parse_suite(suite_text, suite_source, contract)
    except ValueError as exc:  # spark_jobs.exceptions.ContractError / SuiteError
        raise SchemaInvalid(str(exc)) from exc


def default_validator() -> tuple[str, Validator]:
    """The job's validator if its package is importable, else the structural one."""
    try:
        available = all(
            find_spec(name) is not None
            for name in ("spark_jobs.config.contract", "spark_jobs.config.suite", "great_expectations")
        )
    except ImportError:
        available = False
    if not available:
        return "basic (spark_jobs or great_expectations not importable)", basic_validator
    return "spark_jobs.config (the job's loader)", job_validator


def validate_schema(
    topic: str,
    contract: tuple[str | None, str],
    suite: tuple[str | None, str],
    validator: Validator,
) -> str | None:
    """None when both documents exist and pass ``validator``; else the problem, naming the file."""
    contract_text, contract_source = contract
    suite_text, suite_source = suite
    if contract_text is None:
        return f"topic {topic!r}: contract {contract_source} does not exist"
    if suite_text is None:
        return f"topic {topic!r}: expectation suite {suite_source} does not exist"
    try:
        validator(contract_text, contract_source, suite_text, suite_source)
    except ValueError as exc:
        return f"topic {topic!r}: {exc}"
    topic_in_file = _topic_of(contract_text)
    if topic_in_file != topic:
        return f"topic {topic!r}: {contract_source} declares topic {topic_in_file!r}"
    return None


def _topic_of(contract_text: str) -> Any:
    doc = yaml.safe_load(contract_text)
    return doc.get("topic") if isinstance(doc, dict) else None
