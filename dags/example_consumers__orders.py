"""Example downstream DAGs: start when a layer of topic ``orders`` advances, count what changed.

The pattern for downstream teams (README, "Downstream DAGs"): schedule on the layer's
Asset (``lakehouse_unified.assets.table_asset``). ``publish_outcome`` of
``unified__orders`` emits an event for a layer only when that layer's data and
checkpoint advanced (after ``CURATED_ONLY``, curated's consumers start and semantic's do
not). A run receives the events since the previous one (``triggering_asset_events``);
each event's ``extra`` names the job run that wrote the rows (``run_id``, the tables'
``_run_id`` column) and the table's snapshot after it (``snapshot_id``), so the run
reads exactly what changed, as of a fixed snapshot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Asset, task
from lakehouse_unified.assets import table_asset
from lakehouse_unified.config import load_topic_config

TOPIC = "orders"
CONFIG = load_topic_config(Path(__file__).parent / "topics" / f"{TOPIC}.yaml")


def consumer(layer: str, asset: Asset) -> DAG:
    with DAG(
        dag_id=f"example_consumer__{TOPIC}_{layer}",
        description=f"Example: runs when {asset.name} advances and counts the rows that changed",
        schedule=[asset],
        catchup=False,
        tags=["lakehouse", "example", f"topic:{TOPIC}", f"reads:{layer}"],
    ) as dag:

        @task(inlets=[asset])
        def count_changed_rows(*, triggering_asset_events: Any = None) -> dict[str, Any]:
            from lakehouse_unified.hooks.iceberg import CatalogSpec, IcebergSnapshotHook

            events = list(triggering_asset_events[asset])
            if not events:  # triggered by hand, not by the layer: nothing announced to read
                print(f"{asset.name}: no asset event triggered this run; nothing to read")
                return {"rows": 0, "run_ids": [], "snapshot_id": None}
            newest = max(events, key=lambda e: e.timestamp)
            run_ids = {str(e.extra["run_id"]) for e in events}
            namespace, table = asset.name.split(".", 1)
            hook = IcebergSnapshotHook(CatalogSpec.for_topic(CONFIG))
            rows = hook.count_rows_written_by(namespace, table, int(newest.extra["snapshot_id"]), run_ids)
            snapshot = newest.extra["snapshot_id"]
            print(f"{asset.name}: {rows} rows written by job runs {sorted(run_ids)} (as of snapshot {snapshot})")
            return {"rows": rows, "run_ids": sorted(run_ids), "snapshot_id": snapshot}

        count_changed_rows()
    return dag


semantic_consumer = consumer("semantic", table_asset(CONFIG, "semantic"))
curated_consumer = consumer("curated", table_asset(CONFIG, "curated"))
