"""Trigger: poll the raw table's current snapshot (pyiceberg) in the triggerer until there is new data.

Fires ``{"status": "new_snapshot", "raw_snapshot_id": "<id>"}`` as soon as the raw table's
current snapshot is not a checkpoint of a requested layer, ``{"status": "timeout"}`` at
the deadline (the sensor then ends the run as NO_NEW_DATA) and ``{"status": "error"}`` if
the deadline passes while the catalog could not be read (a broken catalog must fail
loudly, not look like a quiet topic). pyiceberg calls block, so they run off the event
loop through ``asgiref.sync_to_async``, as the providers' triggers call sync hooks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent
from asgiref.sync import sync_to_async

from lakehouse_unified.hooks.iceberg import CatalogSpec, IcebergSnapshotHook
from spark_jobs.interface import Checkpoints, Layers, table_identifier


class RawSnapshotTrigger(BaseTrigger):
    """Wait until ``raw_db.<topic>`` has a snapshot newer than the slower requested layer's checkpoint.

    :param topic: the topic (table ``raw_db.<topic>``).
    :param catalog: the topic's catalog (:meth:`CatalogSpec.to_dict`).
    :param curated_checkpoint: raw snapshot id consumed by curated (str; None: never ran).
    :param semantic_checkpoint: raw snapshot id consumed by semantic (str; None: never ran).
    :param layers: ``both``, ``curated`` or ``semantic``: whose checkpoints count.
    :param deadline: ISO datetime (UTC) after which the trigger gives up.
    :param poke_interval: seconds between two reads of the raw table's metadata.
    """

    def __init__(
        self,
        *,
        topic: str,
        catalog: dict[str, Any],
        curated_checkpoint: str | None,
        semantic_checkpoint: str | None,
        layers: Layers,
        deadline: str,
        poke_interval: float,
    ) -> None:
        super().__init__()
        self.topic = topic
        self.catalog = catalog
        self.curated_checkpoint = curated_checkpoint
        self.semantic_checkpoint = semantic_checkpoint
        self.layers = layers
        self.deadline = deadline
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "topic": self.topic,
                "catalog": self.catalog,
                "curated_checkpoint": self.curated_checkpoint,
                "semantic_checkpoint": self.semantic_checkpoint,
                "layers": self.layers,
                "deadline": self.deadline,
                "poke_interval": self.poke_interval,
            },
        )

    @cached_property
    def hook(self) -> IcebergSnapshotHook:
        return IcebergSnapshotHook(CatalogSpec.from_dict(self.catalog))

    def read_raw_current(self) -> int | None:
        """Blocking read of the raw table's current snapshot id (None: no table or no snapshot)."""
        return self.hook.current_snapshot_id(*table_identifier(self.topic, "raw"))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        deadline = datetime.fromisoformat(self.deadline)
        curated = _to_int(self.curated_checkpoint)
        semantic = _to_int(self.semantic_checkpoint)
        last_error: str | None = None
        while True:
            try:
                current = await sync_to_async(self.read_raw_current, thread_sensitive=False)()
                last_error = None
            except Exception as exc:  # keep polling: S3/Glue hiccups are common and transient
                current = None
                last_error = f"{type(exc).__name__}: {exc}"
                self.log.warning("topic %s: reading raw_db.%s failed: %s", self.topic, self.topic, last_error)
            if Checkpoints(curated, semantic).has_new_data(current, self.layers):
                self.log.info("topic %s: new raw snapshot %s", self.topic, current)
                yield TriggerEvent({"status": "new_snapshot", "raw_snapshot_id": str(current)})
                return
            remaining = (deadline - datetime.now(UTC)).total_seconds()
            if remaining <= 0:
                if last_error is not None:
                    yield TriggerEvent({"status": "error", "message": last_error})
                else:
                    yield TriggerEvent({"status": "timeout", "raw_snapshot_id": _to_str(current)})
                return
            await asyncio.sleep(min(self.poke_interval, remaining))


def _to_int(value: str | int | None) -> int | None:
    return None if value is None else int(value)


def _to_str(value: int | None) -> str | None:
    return None if value is None else str(value)
