"""A topic's tables as Airflow Assets, and which of them a run announces (docs/AIRFLOW.md, "Assets").

One Asset per table: the raw table is the job's inlet; curated, semantic and errors are
announced by ``publish_outcome`` through the topic's AssetAlias, one asset event per
table whose data *and* checkpoint advanced in the run (``announcements``), so a DAG
scheduled on ``semantic`` does not start after a ``CURATED_ONLY`` run.

URI scheme, the same for the local catalog and Glue (stable across machines: it names
the catalog and the table, never a path): ``x-iceberg://<catalog>/<namespace>/<table>``
(``x-``: Airflow's prefix for a scheme no provider registers; it also spares the
parse from loading every provider's URI handlers, boto3 included),
``<catalog>`` being ``hadoop`` (the local warehouse) or ``glue.<region>`` (``glue``
when the topic names no region). The asset's name is ``<namespace>.<table>``.

Pure (no Airflow models, no IO): built at parse time from the topic config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow.sdk import Asset, AssetAlias

from lakehouse_unified.config import TopicConfig
from spark_jobs.interface import FAILED_OUTCOMES, OUTPUT_ROLES, TableRole, table_identifier

ASSET_GROUP = "lakehouse"


def catalog_authority(config: TopicConfig) -> str:
    """The URI's host part: which catalog holds the topic's tables."""
    if config.storage.catalog_type == "glue":
        return f"glue.{config.aws.region_name}" if config.aws.region_name else "glue"
    return config.storage.catalog_type


def table_asset(config: TopicConfig, role: TableRole) -> Asset:
    """The Asset of one of the topic's tables (``role``: raw, curated, semantic, errors)."""
    namespace, table = table_identifier(config.topic, role)
    return Asset(
        name=f"{namespace}.{table}",
        uri=f"x-iceberg://{catalog_authority(config)}/{namespace}/{table}",
        group=ASSET_GROUP,
        extra={"topic": config.topic, "layer": role},
    )


def layers_alias(config: TopicConfig) -> AssetAlias:
    """``publish_outcome``'s outlet: it adds an event per advanced table through it."""
    return AssetAlias(name=f"{config.dag_id}.advanced_layers", group=ASSET_GROUP)


@dataclass(frozen=True)
class Announcement:
    """One asset event: the table that advanced and the event's ``extra``."""

    role: TableRole
    extra: dict[str, Any]


def announcements(report: Mapping[str, Any], outcome: str | None = None) -> list[Announcement]:
    """The tables a run's report says advanced, each with what a consumer needs to read it
    (``outcome``: the run's outcome as published, when it differs from the report's).

    - FULL_SUCCESS: curated and semantic when written, errors when rows went there (or a
      quarantine replay moved rows out of it); CURATED_ONLY: curated only.
    - NO_NEW_DATA, failed outcomes (no checkpoint moved; a retry writes and announces),
      dry runs (nothing written): none.
    - Runs that do not move checkpoints (backfills, reprocessing: ``no_checkpoint``)
      rewrote rows, which is news for consumers: announced, with ``reprocess`` true and
      ``checkpoint`` null.
    """
    outcome = outcome or report.get("outcome")
    if outcome in FAILED_OUTCOMES or outcome == "NO_NEW_DATA":
        return []
    tables = _mapping(report.get("tables"))
    semantic = _mapping(report.get("semantic"))
    replay = _mapping(report.get("replay"))
    rows: dict[TableRole, int] = {
        "curated": int(_mapping(report.get("curated")).get("rows") or 0),
        "semantic": int((replay.get("healed") if replay else semantic.get("rows_valid")) or 0),
        "errors": int((replay.get("replayed") if replay else semantic.get("rows_errors")) or 0),
    }
    written = {
        "curated": _mapping(report.get("curated")).get("status") == "written",
        "semantic": semantic.get("status") == "written",
        "errors": semantic.get("status") == "written" and rows["errors"] > 0,
    }
    if replay:  # a replay touches semantic only when rows healed
        written["semantic"] = written["semantic"] and rows["semantic"] > 0
    raw = _mapping(report.get("raw"))
    result = []
    for role in OUTPUT_ROLES:
        table = _mapping(tables.get(role))
        if not written[role] or table.get("snapshot_id") is None:
            continue
        layer = "semantic" if role == "errors" else role
        checkpoint = _mapping(report.get(layer)).get("checkpoint_after")
        before = _mapping(report.get(layer)).get("checkpoint_before")
        moved = checkpoint is not None and checkpoint != before
        extra = {
            "topic": report.get("topic"),
            "table": table.get("name"),
            "outcome": outcome,
            "run_id": report.get("run_id"),
            "airflow_run_id": report.get("airflow_run_id"),
            "snapshot_id": str(table["snapshot_id"]),
            "checkpoint": str(checkpoint) if moved else None,
            "reprocess": not moved and not replay,
            "replay": bool(replay),
            "raw_from_snapshot_exclusive": _text(raw.get("from_snapshot_exclusive")),
            "raw_to_snapshot_inclusive": _text(raw.get("to_snapshot_inclusive")),
            "rows": rows[role],
            "data_docs_url": report.get("data_docs"),
        }
        result.append(Announcement(role, extra))
    return result


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
