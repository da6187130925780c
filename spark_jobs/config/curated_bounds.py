"""How a topic bounds curated's columns (contract section ``curated``). No Spark here:
Airflow's schema check loads contracts too (the rules: ``parse/column_bounds.py``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from spark_jobs.exceptions import ContractError

Path = tuple[str, ...]
_DATA_LIKE = re.compile(
    r"^(?:[-+]?\d+(?:\.\d+)?"  # 123, 12.5
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"  # UUID
    r"|\d{4}-\d{2}-\d{2}.*"  # dates, timestamps
    r"|.*\d{4,}.*)$"  # an id inside a name: sku_10234, user-99812
)


MAX_DEPTH_LIMIT = 50
"""The deepest ``curated.max_depth`` a contract may ask for (50 levels were measured to pass)."""


MAX_PAYLOAD_CHARS_LIMIT = 20_000_000
"""Spark's JSON parser (Jackson) refuses a string value longer than this: a payload that
long could hold one, and would then read as malformed although it is valid JSON."""


def looks_like_data(key: str) -> bool:
    """A key that is a value (an id, a number, a date), not a field name."""
    return bool(_DATA_LIKE.match(key))


@dataclass(frozen=True)
class CuratedBounds:
    """A topic's bounds; the defaults protect a new topic (contracts/README.md)."""

    max_object_keys: int = 100
    max_new_columns_per_run: int = 200
    max_depth: int = 20
    """Objects/arrays at this path length or deeper are kept as their JSON text (``parse/depth.py``)."""
    max_payload_chars: int = 16_000_000
    """A longer payload is not parsed: quarantined as ``payload:too_large``, kept whole in curated."""
    json_paths: tuple[Path, ...] = ()
    expand_paths: tuple[Path, ...] = ()


def paths_of(values: Sequence[str]) -> tuple[Path, ...]:
    """Dotted paths from configuration as path tuples."""
    return tuple(tuple(v.split(".")) for v in values)


def parse_curated_bounds(section: Any, source: str) -> CuratedBounds:
    """The ``curated`` section: how wide payloads are bounded (parse/column_bounds.py)."""
    if not isinstance(section, dict):
        raise ContractError(source, "'curated' must be a mapping")
    allowed = {
        "max_object_keys",
        "max_new_columns_per_run",
        "max_depth",
        "max_payload_chars",
        "json_paths",
        "expand_paths",
    }
    unknown = set(section) - allowed
    if unknown:
        raise ContractError(source, f"unknown keys in 'curated': {sorted(unknown)}")
    defaults = CuratedBounds()

    def number(key: str, most: int = 10_000) -> int:
        value = section.get(key, getattr(defaults, key))
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            raise ContractError(source, f"'curated.{key}' must be an integer 1..{most}, got {value!r}")
        return value

    def paths(key: str) -> tuple[Path, ...]:
        value = section.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v and all(v.split(".")) for v in value):
            raise ContractError(source, f"'curated.{key}' must be a list of dotted paths, got {value!r}")
        return paths_of(value)

    return CuratedBounds(
        max_object_keys=number("max_object_keys"),
        max_new_columns_per_run=number("max_new_columns_per_run"),
        # Spark's plans recurse per level: 100 nested levels exhausted a 1 GB driver.
        max_depth=number("max_depth", MAX_DEPTH_LIMIT),
        max_payload_chars=number("max_payload_chars", MAX_PAYLOAD_CHARS_LIMIT),
        json_paths=paths("json_paths"),
        expand_paths=paths("expand_paths"),
    )
