"""Bound what one payload can do to curated: map-like objects become one JSON column,
and a run adds at most N new columns; the rest goes to one overflow column.

Spark's JSON inference turns every distinct key of the increment into a field, so one
event whose object is keyed by ids or SKUs (3,000 keys) used to become 3,000 curated
columns, for good, and made the run 15 times slower (drift's aggregate and curated's
MERGE grow with the fields). Before parsing, the increment's inferred structure is
bounded (``bound_structure``), all decisions on the structure alone (no data pass):

- **folded**: a nested object with more than ``max_object_keys`` keys, or whose keys
  look like data (digits, ids, dates, UUIDs: ``looks_like_data``), or listed in
  ``json_paths``, is parsed as its JSON text: one STRING column. An object curated
  already holds as one column stays folded, so a column never splits later.
- **kept as they are**: contract paths and their ancestors (the semantic layer reads
  them), paths curated already has columns for, and ``expand_paths``.
- **capped**: new columns are admitted in the structure's (sorted) order while the
  run's budget ``max_new_columns_per_run`` lasts; an object that does not fit whole is
  folded into one column if one is left. Keys that do not fit, and data-like keys of
  an object that cannot be folded (the payload's root, a contract path's ancestor),
  are **overflow**: left out of the parsed struct (so a wide event costs no row of the
  increment a wide struct) and written to curated's ``_overflow`` column as one JSON
  object ``{"dotted.path": "value text", ...}`` per row (``overflow_json``).

Overflow keys stay candidates: a later run with budget left admits them as columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs.config.curated_bounds import CuratedBounds, Path, looks_like_data
from spark_jobs.parse import exact_numbers

OVERFLOW = "_overflow"


@dataclass(frozen=True)
class FoldedObject:
    path: str
    keys: int
    reason: str  # data_like_keys | many_keys | configured | column_budget | already_a_column | contract_field


@dataclass
class BoundedStructure:
    """What ``parse_payload`` parses, and what was folded or left for ``_overflow``."""

    structure: T.StructType
    folded: list[FoldedObject] = field(default_factory=list)
    overflow: dict[Path, list[str]] = field(default_factory=dict)  # parent path -> its overflow keys
    parsed_keys: dict[Path, list[str]] = field(default_factory=dict)  # parent path -> its keys kept in the struct

    @property
    def overflow_filters(self) -> dict[Path, list[str]]:
        """Each overflow parent's kept keys: what ``overflow_json`` leaves out of ``_overflow``."""
        return {parent: self.parsed_keys.get(parent, []) for parent in self.overflow}

    @property
    def overflow_paths(self) -> list[str]:
        return [".".join((*parent, key)) for parent, keys in self.overflow.items() for key in keys]


def _new_leaves(data_type: T.DataType, path: Path, known: set[Path]) -> int:
    if isinstance(data_type, T.StructType) and data_type.fields:
        return sum(_new_leaves(f.dataType, (*path, f.name), known) for f in data_type.fields)
    return 0 if path in known else 1


def bound_structure(
    structure: T.StructType,
    bounds: CuratedBounds,
    known: Iterable[Path] = (),
    contract_paths: Iterable[Path] = (),
) -> BoundedStructure:
    """Fold map-like objects and cap the run's new columns (module docstring).

    ``known``: payload paths curated has columns for; ``contract_paths``: always parsed.
    """
    known_set, required = set(known), set(contract_paths)
    pinned = {p[:i] for p in known_set | required for i in range(1, len(p))}
    result = BoundedStructure(T.StructType([]))
    budget = [bounds.max_new_columns_per_run]

    def fold(path: Path, data_type: T.StructType, reason: str) -> T.StructField | None:
        """The object as one JSON column; None if that column is new and no budget is left."""
        if path not in known_set and path not in required:
            if budget[0] <= 0:
                return None
            budget[0] -= 1
        result.folded.append(FoldedObject(".".join(path), len(data_type.fields), reason))
        return T.StructField(path[-1], T.StringType())

    def walk(schema: T.StructType, path: Path, map_like: bool) -> T.StructType:
        kept: list[T.StructField] = []
        for f in schema.fields:
            child = (*path, f.name)
            is_object = isinstance(f.dataType, T.StructType) and bool(f.dataType.fields)
            if isinstance(f.dataType, T.StructType) and not is_object:
                kept.append(f)  # {}: no column
            elif child in known_set or child in required:
                if is_object and child not in pinned:  # curated holds it as one column
                    reason = "already_a_column" if child in known_set else "contract_field"
                    kept.append(fold(child, f.dataType, reason) or f)  # type: ignore[arg-type]
                else:
                    kept.append(_walked(f, child) if is_object else f)
            elif child in pinned:
                kept.append(_walked(f, child) if is_object else f)
            elif map_like or (not path and looks_like_data(f.name)):
                result.overflow.setdefault(path, []).append(f.name)
            elif is_object:
                kept_field = _object(f, child)
                if kept_field is None:
                    result.overflow.setdefault(path, []).append(f.name)
                else:
                    kept.append(kept_field)
            elif budget[0] > 0:
                budget[0] -= 1
                kept.append(f)
            else:
                result.overflow.setdefault(path, []).append(f.name)
        result.parsed_keys[path] = [f.name for f in kept]
        return T.StructType(kept)

    def _walked(f: T.StructField, path: Path) -> T.StructField:
        """An object that must stay expanded; if it is map-like its other keys overflow."""
        data_type: T.StructType = f.dataType  # type: ignore[assignment]
        return T.StructField(f.name, walk(data_type, path, _map_like(data_type, bounds)))

    def _object(f: T.StructField, path: Path) -> T.StructField | None:
        data_type: T.StructType = f.dataType  # type: ignore[assignment]
        if path in bounds.json_paths:
            return fold(path, data_type, "configured")
        if path not in bounds.expand_paths:
            if _data_like_keys(data_type):
                return fold(path, data_type, "data_like_keys")
            if len(data_type.fields) > bounds.max_object_keys:
                return fold(path, data_type, "many_keys")
        new = _new_leaves(data_type, path, known_set)
        if new <= budget[0]:
            budget[0] -= new
            return f
        if budget[0] > 0:
            return fold(path, data_type, "column_budget")
        return None

    result.structure = walk(structure, (), False)
    return result


def _data_like_keys(data_type: T.StructType) -> bool:
    """At least half of the object's keys look like data."""
    keys = [f.name for f in data_type.fields]
    return bool(keys) and 2 * sum(looks_like_data(k) for k in keys) >= len(keys)


def _map_like(data_type: T.DataType, bounds: CuratedBounds) -> bool:
    """An object that must stay expanded (it holds contract/known paths) but is a map:
    its other keys overflow instead of becoming columns."""
    if not isinstance(data_type, T.StructType):
        return False
    return len(data_type.fields) > bounds.max_object_keys or _data_like_keys(data_type)


def overflow_json(payload: Column, parsed_keys: dict[Path, list[str]], marked_payload: Column | None = None) -> Column:
    """``{"dotted.path": "text", ...}`` of the row's overflow keys (null when none).

    ``parsed_keys``: each overflow parent's keys that are parsed as columns
    (``BoundedStructure.overflow_filters``). Each parent object is parsed as a MAP of its
    keys to their text (``from_json`` into ``map<string,string>``, numbers kept by
    ``exact_numbers``), its parsed keys removed and the rest re-keyed by path; the
    parents' JSON objects are joined as text, so two parents can never clash in a map.
    The filter names the kept keys, which the column budget bounds, never the overflow
    keys, which one payload can make thousands: a 3,000-literal set in the plan made
    every later query of the run pay for it (2.3 x a normal run).
    Every key of the increment is in the inferred structure, so "not parsed" is
    exactly "overflow". ``marked_payload``: the row's ``exact_numbers.mark`` of the
    payload when the caller has it already (computed here otherwise).
    """
    if not parsed_keys:
        return F.lit(None).cast("string")
    marked_text = exact_numbers.mark(payload) if marked_payload is None else marked_payload
    marked = marked_text.isNotNull()
    maps: dict[Path, Column] = {(): _as_map(F.coalesce(marked_text, payload))}

    def map_of(path: Path) -> Column:
        if path not in maps:
            maps[path] = _as_map(map_of(path[:-1])[path[-1]])
        return maps[path]

    def is_overflow(keys: list[str]) -> Callable[[Column, Column], Column]:
        return lambda k, v: (~k.isin(*keys) if keys else F.lit(True)) & v.isNotNull()

    parts = []
    for parent, keys in sorted(parsed_keys.items()):
        prefix = "".join(f"{p}." for p in parent)
        entries = F.map_filter(map_of(parent), is_overflow(keys))
        entries = F.transform_keys(entries, lambda k, _v: F.concat(F.lit(prefix), k))  # noqa: B023
        entries = F.transform_values(entries, lambda _k, v: exact_numbers.restore(v, marked))
        text = F.to_json(entries)
        parts.append(F.when(F.size(entries) > 0, text.substr(F.lit(2), F.length(text) - 2)))
    joined = F.concat_ws(",", *parts)
    return F.when(joined != "", F.concat(F.lit("{"), joined, F.lit("}")))


def _as_map(json_text: Column) -> Column:
    return F.from_json(json_text, "map<string,string>")
