"""Read Iceberg snapshot metadata with pyiceberg: checkpoints and raw snapshots (and, for
downstream DAGs, one column of what a run wrote: ``count_rows_written_by``).

Local: the job's ``hadoop`` warehouse, read as ``StaticTable.from_metadata(
"<warehouse>/<namespace>/<table>")``. Production: pyiceberg's Glue catalog, with the
credentials of the topic's AWS connection. pyiceberg is imported when a task runs,
never when a DAG file is parsed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from lakehouse_unified.config import TopicConfig
from lakehouse_unified.run_plan import TopicState
from spark_jobs.interface import SnapshotInfo, resolve_checkpoints, table_identifier

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table


@dataclass(frozen=True)
class CatalogSpec:
    """Where the topic's tables are; plain values so a trigger can carry it."""

    catalog_type: str
    warehouse: str
    aws_conn_id: str | None = None
    region_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CatalogSpec:
        return cls(**data)

    @classmethod
    def for_topic(cls, config: TopicConfig) -> CatalogSpec:
        """The topic's catalog, its warehouse resolved (call when a task runs, not at parse time)."""
        return cls(
            catalog_type=config.storage.catalog_type,
            warehouse=config.resolve(config.storage.warehouse),
            aws_conn_id=config.aws.conn_id,
            region_name=config.aws.region_name,
        )


class IcebergSnapshotHook(BaseHook):
    """Snapshot ancestry and checkpoints of a topic's raw, curated and semantic tables."""

    hook_name = "Iceberg snapshots (pyiceberg)"

    def __init__(self, catalog: CatalogSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.catalog = catalog

    def read_topic_state(self, topic: str) -> TopicState:
        """Raw ancestry plus the layers' checkpoints (missing output table: no checkpoint)."""
        raw = self.ancestry(*table_identifier(topic, "raw"))
        curated = self.ancestry(*table_identifier(topic, "curated")) or ()
        semantic = self.ancestry(*table_identifier(topic, "semantic")) or ()
        checkpoints = resolve_checkpoints(curated, semantic, [s.snapshot_id for s in raw or ()])
        return TopicState(
            raw_exists=raw is not None,
            raw_ancestry=raw or (),
            curated_checkpoint=checkpoints.curated,
            semantic_checkpoint=checkpoints.semantic,
        )

    def current_snapshot_id(self, namespace: str, name: str) -> int | None:
        """The table's current snapshot id; None if the table or a snapshot does not exist."""
        table = self.load_table(namespace, name)
        snapshot = table.current_snapshot() if table is not None else None
        return snapshot.snapshot_id if snapshot is not None else None

    def ancestry(self, namespace: str, name: str) -> tuple[SnapshotInfo, ...] | None:
        """Snapshots of the table's current ancestry, newest first; None if the table does not exist."""
        table = self.load_table(namespace, name)
        if table is None:
            return None
        from pyiceberg.table.snapshots import ancestors_of

        return tuple(_info(s) for s in ancestors_of(table.current_snapshot(), table.metadata))

    def count_rows_written_by(self, namespace: str, name: str, snapshot_id: int, run_ids: Iterable[str]) -> int:
        """Rows of the table as of ``snapshot_id`` whose current version a job run of
        ``run_ids`` wrote (the ``_run_id`` column): what those runs added or changed and
        still stands. Reads data files (pyarrow), only the ``_run_id`` column.

        Not Iceberg's incremental read: it returns appended files only, and the job's
        upserts of existing keys are row-level MERGE commits (``overwrite``), which it skips.
        """
        from pyiceberg.expressions import In

        table = self.load_table(namespace, name)
        if table is None:
            raise LookupError(f"table {namespace}.{name} does not exist in the {self.catalog.catalog_type} catalog")
        # In's __new__ takes (term, literals); mypy reads its pydantic __init__ instead
        ran = In("_run_id", set(run_ids))  # type: ignore[call-arg, arg-type]
        scan = table.scan(row_filter=ran, snapshot_id=snapshot_id, selected_fields=("_run_id",))
        return int(scan.count())

    def load_table(self, namespace: str, name: str) -> Table | None:
        if self.catalog.catalog_type == "hadoop":
            return self._load_hadoop_table(f"{self.catalog.warehouse.rstrip('/')}/{namespace}/{name}")
        from pyiceberg.exceptions import NoSuchTableError

        try:
            return self._glue_catalog.load_table((namespace, name))
        except NoSuchTableError:
            return None

    def _load_hadoop_table(self, location: str) -> Table | None:
        from pyiceberg.table import StaticTable

        properties = self._file_io_properties()
        if "://" not in location:
            if not (Path(location) / "metadata" / "version-hint.text").is_file():
                return None
            # A file:// URI (a bare path has no scheme for pyiceberg) read with fsspec: only
            # metadata JSON is read, so the Airflow side does not need pyarrow locally.
            location = Path(location).resolve().as_uri()
            properties = {**properties, "py-io-impl": "pyiceberg.io.fsspec.FsspecFileIO"}
        try:
            return StaticTable.from_metadata(location, properties=properties)
        except FileNotFoundError:
            return None

    @cached_property
    def _glue_catalog(self) -> Catalog:
        from pyiceberg.catalog import load_catalog

        properties = {"type": "glue", "warehouse": self.catalog.warehouse, **self._file_io_properties()}
        if self.catalog.region_name:
            properties["glue.region"] = self.catalog.region_name
        for key in ("access-key-id", "secret-access-key", "session-token"):
            if f"s3.{key}" in properties:
                properties[f"glue.{key}"] = properties[f"s3.{key}"]
        if self._aws_hook is not None and (endpoint := self._aws_hook.conn_config.get_service_endpoint_url("glue")):
            properties["glue.endpoint"] = endpoint
        return load_catalog("lakehouse", **properties)

    @cached_property
    def _aws_hook(self) -> AwsBaseHook | None:
        if self.catalog.aws_conn_id is None:
            return None
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        return AwsBaseHook(aws_conn_id=self.catalog.aws_conn_id, region_name=self.catalog.region_name)

    def _file_io_properties(self) -> dict[str, str]:
        """S3 credentials/region from the AWS connection (none for a local warehouse)."""
        aws = self._aws_hook
        if "://" not in self.catalog.warehouse or aws is None:
            return {"s3.region": self.catalog.region_name} if self.catalog.region_name else {}
        credentials = aws.get_credentials(region_name=self.catalog.region_name)
        properties = {
            "s3.access-key-id": credentials.access_key,
            "s3.secret-access-key": credentials.secret_key,
        }
        if credentials.token:
            properties["s3.session-token"] = credentials.token
        region = self.catalog.region_name or aws.conn_region_name
        if region:
            properties["s3.region"] = region
        endpoint = aws.conn_config.get_service_endpoint_url("s3")
        if endpoint:
            properties["s3.endpoint"] = endpoint
        return properties


def _info(snapshot: Any) -> SnapshotInfo:
    summary: Iterable[tuple[str, str]] = snapshot.summary.additional_properties.items() if snapshot.summary else ()
    return SnapshotInfo(
        snapshot_id=int(snapshot.snapshot_id),
        committed_at=datetime.fromtimestamp(snapshot.timestamp_ms / 1000, tz=UTC),
        summary=dict(summary),
        operation=snapshot.summary.operation.value if snapshot.summary else None,
    )
