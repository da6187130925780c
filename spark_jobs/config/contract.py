"""Topic contract: the registered schema of a topic, loaded and validated up front."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from spark_jobs.config.curated_bounds import CuratedBounds, parse_curated_bounds
from spark_jobs.config.storage import read_text
from spark_jobs.exceptions import ContractError
from spark_jobs.interface import CHECKPOINT_MODES, CheckpointMode, topic_name_problem

PiiStrategy = Literal["none", "hash", "mask", "redact"]

SIMPLE_TYPES = ("string", "int", "long", "double", "boolean", "date", "timestamp")
_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
COLUMN_NAME = re.compile(r"^[a-z][a-z0-9_]{0,127}$")
PII_STRATEGIES: tuple[PiiStrategy, ...] = ("none", "hash", "mask", "redact")


@dataclass(frozen=True)
class FieldSpec:
    """One field of the semantic layer."""

    name: str
    type: str
    path: tuple[str, ...]
    nullable: bool = True
    pii: PiiStrategy = "none"

    @property
    def dotted_path(self) -> str:
        return ".".join(self.path)

    @property
    def decimal_precision_scale(self) -> tuple[int, int] | None:
        match = _DECIMAL.match(self.type)
        return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class TopicContract:
    """A topic's registered schema and processing options."""

    topic: str
    fields: tuple[FieldSpec, ...]
    source: str
    checkpoint_mode: CheckpointMode = "tiered"
    message_id_lookback_days: int = 7
    max_event_ts_ahead_minutes: int = 5
    """A version whose event_ts is later than its ingest_ts by more is quarantined (clock skew allowed)."""
    description: str = ""
    curated: CuratedBounds = field(default_factory=CuratedBounds)
    _by_name: dict[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({f.name: f for f in self.fields})

    def field(self, name: str) -> FieldSpec | None:
        return self._by_name.get(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def has_hashed_pii(self) -> bool:
        return any(f.pii == "hash" for f in self.fields)


def load_contract(uri: str) -> TopicContract:
    """Read and validate ``<dir>/<topic>.yaml`` (local path or ``s3://``)."""
    try:
        text = read_text(uri)
    except FileNotFoundError as exc:
        raise ContractError(uri, "contract file not found") from exc
    return parse_contract(text, uri)


def parse_contract(text: str, source: str) -> TopicContract:
    """Validate a contract document; every problem names the file and field."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ContractError(source, f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise ContractError(source, "expected a mapping with 'topic' and 'fields'")
    unknown = set(doc) - {"topic", "description", "checkpoint_mode", "dedup", "curated", "fields"}
    if unknown:
        raise ContractError(source, f"unknown keys {sorted(unknown)}")

    topic = doc.get("topic")
    problem = topic_name_problem(topic)
    if problem is not None or not isinstance(topic, str):
        raise ContractError(source, f"'topic' {problem}, got {topic!r}")
    stem = source.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if stem != topic:
        raise ContractError(source, f"topic {topic!r} does not match the file name {stem!r}")

    mode = doc.get("checkpoint_mode", "tiered")
    if mode not in CHECKPOINT_MODES:
        raise ContractError(source, f"'checkpoint_mode' must be one of {CHECKPOINT_MODES}, got {mode!r}")

    lookback, ahead = _dedup_options(doc.get("dedup") or {}, source)
    curated = parse_curated_bounds(doc.get("curated") or {}, source)
    raw_fields = doc.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise ContractError(source, "'fields' must be a non-empty list")
    fields = tuple(_parse_field(item, index, source) for index, item in enumerate(raw_fields))
    _reject_duplicates([f.name for f in fields], source, "name")
    _reject_duplicates([f.dotted_path for f in fields], source, "path")
    for f in fields:
        if len(f.path) > curated.max_depth:
            raise ContractError(
                source,
                f"path {f.dotted_path!r} has {len(f.path)} levels, deeper than curated.max_depth "
                f"({curated.max_depth}): values that deep are kept as JSON text; raise curated.max_depth",
                field=f.name,
            )
    return TopicContract(
        topic=topic,
        fields=fields,
        source=source,
        checkpoint_mode=mode,
        message_id_lookback_days=lookback,
        max_event_ts_ahead_minutes=ahead,
        curated=curated,
        description=str(doc.get("description") or ""),
    )


DEFAULT_MAX_EVENT_TS_AHEAD_MINUTES = 5


def _dedup_options(dedup: Any, source: str) -> tuple[int, int]:
    """(message_id_lookback_days, max_event_ts_ahead_minutes)."""
    if not isinstance(dedup, dict):
        raise ContractError(source, "'dedup' must be a mapping")
    unknown = set(dedup) - {"message_id_lookback_days", "max_event_ts_ahead_minutes"}
    if unknown:
        raise ContractError(source, f"unknown keys in 'dedup': {sorted(unknown)}")
    value = dedup.get("message_id_lookback_days", 7)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 3650:
        raise ContractError(source, f"'dedup.message_id_lookback_days' must be an integer 1..3650, got {value!r}")
    ahead = dedup.get("max_event_ts_ahead_minutes", DEFAULT_MAX_EVENT_TS_AHEAD_MINUTES)
    if isinstance(ahead, bool) or not isinstance(ahead, int) or not 0 <= ahead <= 525_600:
        raise ContractError(
            source, f"'dedup.max_event_ts_ahead_minutes' must be an integer 0..525600 (a year), got {ahead!r}"
        )
    return value, ahead


def _parse_field(item: Any, index: int, source: str) -> FieldSpec:
    if not isinstance(item, dict):
        raise ContractError(source, f"fields[{index}] must be a mapping, got {item!r}")
    name = item.get("name")
    if not isinstance(name, str) or not COLUMN_NAME.match(name):
        raise ContractError(source, f"fields[{index}].name must match {COLUMN_NAME.pattern}, got {name!r}")
    unknown = set(item) - {"name", "type", "path", "nullable", "pii", "description"}
    if unknown:
        raise ContractError(source, f"unknown keys {sorted(unknown)}", field=name)
    type_ = str(item.get("type", "")).strip().lower().replace(" ", "")
    if type_ not in SIMPLE_TYPES and not _valid_decimal(type_):
        raise ContractError(
            source,
            f"type {item.get('type')!r} is not one of {SIMPLE_TYPES} or decimal(p,s) with 1<=p<=38, 0<=s<=p",
            field=name,
        )
    path_text = item.get("path", name)
    if not isinstance(path_text, str) or not path_text or any(not p for p in path_text.split(".")):
        raise ContractError(source, f"path must be a dotted JSON path, got {path_text!r}", field=name)
    nullable = item.get("nullable", True)
    if not isinstance(nullable, bool):
        raise ContractError(source, f"nullable must be true or false, got {nullable!r}", field=name)
    pii = item.get("pii", "none")
    if pii not in PII_STRATEGIES:
        raise ContractError(source, f"pii must be one of {PII_STRATEGIES}, got {pii!r}", field=name)
    return FieldSpec(name=name, type=type_, path=tuple(path_text.split(".")), nullable=nullable, pii=pii)


def _valid_decimal(type_: str) -> bool:
    match = _DECIMAL.match(type_)
    if not match:
        return False
    precision, scale = int(match.group(1)), int(match.group(2))
    return 1 <= precision <= 38 and 0 <= scale <= precision


def _reject_duplicates(values: list[str], source: str, what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ContractError(source, f"duplicate field {what} {value!r}", field=value)
        seen.add(value)
