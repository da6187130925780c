"""What the job and Airflow must agree on, defined once (stdlib only: no Spark, no Airflow).

The job imports it, and so does the Airflow side (``plugins/lakehouse_unified``), which
therefore needs the ``spark_jobs`` package importable (docs/AIRFLOW.md, "Requirements");
importing this module never imports pyspark. docs/JOB_INTERFACE.md is the prose. The
job's command line is defined once too, in ``spark_jobs/config/job_args.py`` (``JobArgs``:
Airflow writes it with ``to_argv``, the job reads it with ``parse_args``).

- names: the topic-name rule, the Iceberg catalog, the PII key's environment variables;
- run shape: layers, checkpoint modes, the whole-history marker, the one-layer rule;
- outcomes: their names and which ones are failures;
- checkpoints: the snapshot summary keys and how a layer's checkpoint is read from
  snapshot metadata (the job reads it through Spark, Airflow through pyiceberg: both
  hand plain ``SnapshotInfo`` here).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

# -- names -----------------------------------------------------------------------------

TOPIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
"""A topic's name: its tables' names, its DAG id, its contract's file name."""
ERRORS_SUFFIX = "_errors"
"""A topic's errors table is ``semantic_db.<topic>_errors``, beside its semantic table."""


def topic_name_problem(topic: object) -> str | None:
    """Why ``topic`` cannot name a topic (None: it can). A name ending in ``_errors``
    would make the topic's semantic table another topic's errors table."""
    if not isinstance(topic, str) or not TOPIC_NAME.match(topic):
        return f"must match {TOPIC_NAME.pattern}"
    if topic.endswith(ERRORS_SUFFIX):
        owner = topic.removesuffix(ERRORS_SUFFIX)
        return f"must not end with {ERRORS_SUFFIX!r}: semantic_db.{topic} is the errors table of topic {owner!r}"
    return None


TableRole = Literal["raw", "curated", "semantic", "errors"]
TABLE_ROLES: tuple[TableRole, ...] = get_args(TableRole)
OUTPUT_ROLES: tuple[TableRole, ...] = ("curated", "semantic", "errors")
NAMESPACES: dict[TableRole, str] = {
    "raw": "raw_db",
    "curated": "curated_db",
    "semantic": "semantic_db",
    "errors": "semantic_db",
}
"""The catalog namespace (database) of each of a topic's tables."""


def table_identifier(topic: str, role: TableRole) -> tuple[str, str]:
    """``(namespace, table)`` of one of a topic's four tables (unquoted)."""
    return NAMESPACES[role], topic + ERRORS_SUFFIX if role == "errors" else topic


CATALOG = "lakehouse"
"""Name of the Iceberg catalog in Spark; it is the session's default catalog."""

PII_HASH_KEY_ENV = "PII_HASH_KEY"
"""The HMAC key of ``pii: hash`` fields (at least 16 characters)."""
PII_HASH_KEY_SECRET_ENV = "PII_HASH_KEY_SECRET_ID"
"""Or the AWS Secrets Manager id/ARN holding it (EMR Serverless)."""

# -- run shape -------------------------------------------------------------------------

Layer = Literal["curated", "semantic"]
Layers = Literal["both", "curated", "semantic"]
CheckpointMode = Literal["tiered", "unified"]
CHECKPOINT_MODES: tuple[CheckpointMode, ...] = ("tiered", "unified")

FULL_HISTORY = "none"
"""``--from-snapshot-exclusive none``: reprocess from the first raw snapshot."""

ONE_LAYER_REPROCESS = (
    "reprocessing one layer from an explicit snapshot would move its checkpoint out of step "
    "with the other: add --no-checkpoint (Airflow: no_checkpoint=true) or write both layers"
)


def one_layer_reprocess_problem(explicit_start: bool, layers: Layers, no_checkpoint: bool) -> str | None:
    """Why a run cannot move its checkpoint (None: it can): a one-layer reprocess must not."""
    if explicit_start and layers != "both" and not no_checkpoint:
        return ONE_LAYER_REPROCESS
    return None


# -- outcomes --------------------------------------------------------------------------

Outcome = Literal[
    "FULL_SUCCESS", "CURATED_ONLY", "CURATED_FAILED", "SEMANTIC_FAILED", "FAILED_BEFORE_WRITE", "NO_NEW_DATA"
]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
FAILED_OUTCOMES: tuple[Outcome, ...] = ("CURATED_FAILED", "SEMANTIC_FAILED", "FAILED_BEFORE_WRITE")
"""``FAILED_BEFORE_WRITE``: the run stopped before writing any layer (no raw table, an
expired checkpoint, a failed read): nothing to undo, no checkpoint moved."""

# -- checkpoints -----------------------------------------------------------------------

CHECKPOINT_KEYS: dict[Layer, str] = {
    "curated": "unified-job.curated-checkpoint",
    "semantic": "unified-job.semantic-checkpoint",
}
"""Tiered mode (or a one-layer run): each layer's last commit carries its own key, on its own table."""
UNIFIED_CHECKPOINT_KEY = "unified-job.checkpoint"
"""Unified mode: the run's one checkpoint, on curated's table (the run's last commit)."""
RUN_ID_KEY = "unified-job.run-id"


@dataclass(frozen=True)
class SnapshotInfo:
    """One snapshot of an Iceberg table's current ancestry."""

    snapshot_id: int
    committed_at: datetime
    summary: Mapping[str, str]
    operation: str | None = None
    """Iceberg's operation: append, overwrite, delete, replace (a compaction); None: not known."""

    def rows_appended(self) -> int | None:
        """Rows an incremental read returns from this snapshot (None: not known).

        Iceberg's incremental read takes appends only: a compaction (``replace``), a
        delete or an overwrite adds no row to read, whatever its ``added-records`` (a
        compaction's is the size of what it rewrote). A snapshot of unknown operation
        counts as an append.
        """
        if self.operation not in (None, "append"):
            return 0
        added = self.summary.get("added-records")
        return int(added) if added is not None and added.isdigit() else None


def value_in(ancestry_newest_first: Sequence[SnapshotInfo], key: str) -> int | None:
    """The key's value on the newest snapshot that carries it (None: never committed)."""
    for snapshot in ancestry_newest_first:
        value = snapshot.summary.get(key)
        if value is not None:
            return int(value)
    return None


def newest_of(candidates: Iterable[int | None], raw_ids_newest_first: Sequence[int]) -> int | None:
    """The newest candidate by position in raw's ancestry. One that raw no longer holds
    (expired) loses to one it holds; if none is held, the first is returned as is, so
    that the job's range check reports it."""
    present = [c for c in candidates if c is not None]
    held = [c for c in present if c in raw_ids_newest_first]
    if held:
        return min(held, key=list(raw_ids_newest_first).index)
    return present[0] if present else None


@dataclass(frozen=True)
class Checkpoints:
    """Each layer's checkpoint: the last raw snapshot id it consumed (None: never ran)."""

    curated: int | None
    semantic: int | None

    def read_from(self, raw_ids_newest_first: Sequence[int], layers: Layers = "both") -> int | None:
        """Where the next read starts: the slower of the ``layers`` the run writes (None =
        from the beginning). A curated-only run (no usable contract: semantic never
        moves) reads from curated's checkpoint, not the whole history every time.

        Snapshot ids are not ordered numbers; "older" is the position in raw's
        ancestry. A checkpoint missing from it (expired) is returned as is, so that
        the range check reports it instead of silently reading something else.
        """
        relevant = self._of(layers)
        if any(cp is None for cp in relevant):
            return None
        for checkpoint in relevant:
            if checkpoint not in raw_ids_newest_first:
                return checkpoint
        return max(relevant, key=list(raw_ids_newest_first).index)  # type: ignore[arg-type]

    def has_new_data(self, raw_current: int | None, layers: Layers = "both") -> bool:
        """True when raw has a snapshot the slower of ``layers`` has not consumed.

        Snapshot ids are not ordered, so "newer than the checkpoint" means "raw's current
        snapshot is not the checkpoint": checkpoints only ever move to a raw snapshot.
        """
        if raw_current is None:
            return False
        return any(cp != raw_current for cp in self._of(layers))

    def _of(self, layers: Layers) -> list[int | None]:
        """The checkpoints of the ``layers`` a run writes."""
        return [
            cp for layer, cp in (("curated", self.curated), ("semantic", self.semantic)) if layers in ("both", layer)
        ]


def resolve_checkpoints(
    curated_ancestry: Sequence[SnapshotInfo],
    semantic_ancestry: Sequence[SnapshotInfo],
    raw_ids_newest_first: Sequence[int],
) -> Checkpoints:
    """Each layer's checkpoint: the newer, by raw's ancestry, of its own key and the
    unified key (both layers hold the data up to the unified checkpoint), so a topic can
    switch modes either way without losing or re-reading more than the slower layer."""
    unified = value_in(curated_ancestry, UNIFIED_CHECKPOINT_KEY)
    return Checkpoints(
        curated=newest_of([value_in(curated_ancestry, CHECKPOINT_KEYS["curated"]), unified], raw_ids_newest_first),
        semantic=newest_of([value_in(semantic_ancestry, CHECKPOINT_KEYS["semantic"]), unified], raw_ids_newest_first),
    )


def commit_properties(layer: Layer, mode: str, writes_both: bool, raw_snapshot_id: int, run_id: str) -> dict[str, str]:
    """What a layer's last commit carries. Unified mode writing both layers: semantic
    nothing, curated (the run's last commit) the one checkpoint. Otherwise (tiered, or a
    one-layer run in either mode): the layer's own checkpoint."""
    if mode == "unified" and writes_both:
        return {UNIFIED_CHECKPOINT_KEY: str(raw_snapshot_id), RUN_ID_KEY: run_id} if layer == "curated" else {}
    return {CHECKPOINT_KEYS[layer]: str(raw_snapshot_id), RUN_ID_KEY: run_id}


def holds_checkpoint_keys(layer: Layer) -> tuple[str, ...]:
    """Summary keys whose snapshot on ``layer``'s table holds a checkpoint."""
    return (
        (CHECKPOINT_KEYS["curated"], UNIFIED_CHECKPOINT_KEY) if layer == "curated" else (CHECKPOINT_KEYS["semantic"],)
    )


# -- the Iceberg catalog ---------------------------------------------------------------

CatalogType = Literal["hadoop", "glue"]


def catalog_conf(catalog_type: CatalogType | str, warehouse: str) -> dict[str, str]:
    """Spark confs of the ``lakehouse`` Iceberg catalog (local hadoop or AWS Glue): the
    job's session sets them, and Airflow passes them to EMR Serverless."""
    prefix = f"spark.sql.catalog.{CATALOG}"
    conf = {
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        prefix: "org.apache.iceberg.spark.SparkCatalog",
        f"{prefix}.warehouse": warehouse,
        "spark.sql.defaultCatalog": CATALOG,
        "spark.sql.session.timeZone": "UTC",
        # Strict casts are done explicitly (parse/casts.py); ANSI mode would turn a bad
        # value into a failed job instead of a quarantined row.
        "spark.sql.ansi.enabled": "false",
        # Payload keys that differ only in case ("Status", "status") are different fields.
        "spark.sql.caseSensitive": "true",
    }
    if catalog_type == "hadoop":
        conf[f"{prefix}.type"] = "hadoop"
    elif catalog_type == "glue":
        conf[f"{prefix}.type"] = "glue"
        conf[f"{prefix}.io-impl"] = "org.apache.iceberg.aws.s3.S3FileIO"
    else:
        raise ValueError(f"unknown catalog type {catalog_type!r} (hadoop or glue)")
    return conf


# -- the job's JVMs ----------------------------------------------------------------------

JOB_JVM_OPTIONS = "-XX:-DontCompileHugeMethods"
"""Java options of the job's driver and executors (local and EMR Serverless).

HotSpot never compiles a method of more than 8,000 bytes of bytecode; Spark's generated
code for a payload of a few dozen fields (the parse, its number restoring, the dedup
and merge projections) is bigger, so without this it ran interpreted: parsing 1M
``orders`` payloads took 2.5 x as long (bench/distance_to_limit.py, "exact numbers")."""


def job_jvm_conf(extra: str = "") -> dict[str, str]:
    """Spark confs that start the job's JVMs with :data:`JOB_JVM_OPTIONS` (and ``extra``)."""
    options = f"{JOB_JVM_OPTIONS} {extra.strip()}".strip()
    return {
        "spark.driver.extraJavaOptions": options,
        "spark.executor.extraJavaOptions": options,
    }
