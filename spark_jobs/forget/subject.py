"""How a data subject's rows are recognised in each of a topic's tables.

A request names a contract field and its values (``customer_email = ann@example.com``)
and/or ``idempotency_key``s. Each table holds the field differently:

- raw: the payload as sent: the value at the field's path (``get_json_object``), or, in a
  payload that is not JSON, the value as a JSON string anywhere in the text;
- curated: the payload flattened as text: the column whose comment holds the path;
- semantic and errors: the field's column after its PII strategy: ``none`` the value,
  ``hash`` its HMAC token (same key as the job), ``mask``/``redact`` nothing to match
  (a partial mask is shared by many people: deleting by it would erase others; such
  rows are still found through their keys, from raw and curated).

The keys found anywhere are then forgotten everywhere (every version, every table).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from spark_jobs.config.contract import FieldSpec
from spark_jobs.exceptions import MissingSecretError
from spark_jobs.forget.forgotten_keys import token
from spark_jobs.interface import PII_HASH_KEY_ENV, TableRole
from spark_jobs.semantic.typed_rows import FUTURE_KEY_PREFIX
from spark_jobs.tables import quote, sql_string

_PLAIN_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Subject:
    """Who to forget: values of one contract field, and keys."""

    field: FieldSpec | None
    values: tuple[str, ...]
    keys: tuple[str, ...]


def json_path(path: Sequence[str]) -> str:
    """``get_json_object``'s path of a payload field (bracket form for unusual names)."""
    if all(_PLAIN_SEGMENT.match(s) for s in path):
        return "$." + ".".join(path)
    return "$" + "".join("['" + s.replace("\\", "\\\\").replace("'", "\\'") + "']" for s in path)


def in_list(column_sql: str, values: Sequence[str]) -> str:
    """SQL: ``column IN (...)``; false for no values."""
    if not values:
        return "false"
    return f"{column_sql} IN ({', '.join(sql_string(v) for v in values)})"


def raw_match(subject: Subject) -> str:
    """SQL over raw: a row of the subject, by key or by value."""
    clauses = [in_list("idempotency_key", subject.keys)]
    if subject.field is not None and subject.values:
        path = json_path(subject.field.path)
        clauses.append(in_list(f"get_json_object(payload, {sql_string(path)})", subject.values))
        # A payload that is not JSON (quarantined as malformed): the value as a JSON string in its text.
        literals = " OR ".join(f"instr(payload, {sql_string(json.dumps(v))}) > 0" for v in subject.values)
        clauses.append(f"(get_json_object(payload, '$') IS NULL AND ({literals}))")
    return " OR ".join(f"({c})" for c in clauses)


def curated_match(subject: Subject, column: str | None) -> str:
    """SQL over curated: by key, or the field's flattened column (None: the column does not exist)."""
    clauses = [in_list("`_idempotency_key`", subject.keys)]
    if column is not None and subject.values:
        clauses.append(in_list(quote(column), subject.values))
    return " OR ".join(f"({c})" for c in clauses)


def output_match(subject: Subject, role: TableRole, hash_key: bytes | None) -> str:
    """SQL over semantic or errors: by key (errors' future-dated versions embed it), or
    the field's column as that table stores it."""
    clauses = [in_list("`_idempotency_key`", subject.keys)]
    if role == "errors":
        clauses += [f"startswith(`_idempotency_key`, {sql_string(f'{FUTURE_KEY_PREFIX}{k}:')})" for k in subject.keys]
    stored = stored_values(subject, hash_key)
    if subject.field is not None and stored:
        clauses.append(in_list(f"CAST({quote(subject.field.name)} AS STRING)", stored))
    return " OR ".join(f"({c})" for c in clauses)


def stored_values(subject: Subject, hash_key: bytes | None) -> list[str]:
    """The field's values as semantic and errors store them (empty: not matchable)."""
    spec = subject.field
    if spec is None or not subject.values:
        return []
    if spec.pii == "none":
        return list(subject.values)
    if spec.pii == "hash":
        if hash_key is None:
            raise MissingSecretError(
                f"field {spec.name!r} is 'pii: hash': its tokens in semantic and errors are matched with the "
                f"topic's PII key, and {PII_HASH_KEY_ENV} is not set"
            )
        return [token(v, hash_key) for v in subject.values]
    return []


def not_matchable(subject: Subject) -> str | None:
    """Why the field's values cannot be matched in semantic and errors (None: they can)."""
    spec = subject.field
    if spec is None or spec.pii in ("none", "hash"):
        return None
    return (
        f"field {spec.name!r} is 'pii: {spec.pii}': semantic and errors hold no value to match it by "
        "(a mask is shared by many people); their rows of the subject are found through the keys "
        "matched in raw and curated"
    )
