"""Command-line arguments of the unified job: one definition, built by Airflow, parsed by the job.

``JobArgs.to_argv`` writes the command line that ``parse_args`` reads back into the same
``JobArgs`` (``tests/unit/test_job_args.py`` checks the round trip for every field).
Airflow builds its runs' arguments with it (``lakehouse_unified.job_arguments``), so
this module, like ``spark_jobs.interface``, imports no Spark.
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from spark_jobs.config.storage import join
from spark_jobs.exceptions import JobArgumentError
from spark_jobs.interface import FULL_HISTORY, CatalogType, Layers, one_layer_reprocess_problem
from spark_jobs.session import DEFAULT_WAREHOUSE


@dataclass(frozen=True)
class JobArgs:
    topic: str
    contracts_dir: str = "contracts"
    expectations_dir: str = "expectations"
    warehouse: str = DEFAULT_WAREHOUSE
    catalog_type: CatalogType = "hadoop"
    run_id: str = ""
    airflow_run_id: str | None = None
    """The Airflow DAG run that started the job (recorded in the run history)."""
    run_report: str | None = None
    data_docs_site: str | None = None
    """Where the GX Data Docs site is (a folder or ``s3://``); None: no page."""
    checkpoint_mode: Literal["tiered", "unified"] | None = None
    from_snapshot_exclusive: int | None = None
    reprocess_all: bool = False
    to_snapshot_inclusive: int | None = None
    max_rows_per_run: int | None = None
    layers: Layers = "both"
    no_checkpoint: bool = False
    dry_run: bool = False
    replay_quarantine: bool = False
    compact_delete_file_threshold: int | None = None
    expire_outputs_after_hours: int | None = None
    expire_raw_after_hours: int | None = None

    @property
    def contract_uri(self) -> str:
        return join(self.contracts_dir, f"{self.topic}.yaml")

    @property
    def suite_uri(self) -> str:
        return join(self.expectations_dir, f"{self.topic}.json")

    def to_argv(self) -> list[str]:
        """The command line for these arguments: where the topic's files and tables are,
        always (a run's command line reads whole in a log or the EMR console); the other
        options only when they differ from their default."""
        argv = [
            *("--topic", self.topic, "--contracts-dir", self.contracts_dir),
            *("--expectations-dir", self.expectations_dir, "--warehouse", self.warehouse),
            *("--catalog-type", self.catalog_type),
        ]
        options: list[tuple[str, object, object]] = [
            ("--run-id", self.run_id, ""),
            ("--airflow-run-id", self.airflow_run_id, None),
            ("--run-report", self.run_report, None),
            ("--data-docs-site", self.data_docs_site, None),
            ("--checkpoint-mode", self.checkpoint_mode, None),
            ("--max-rows-per-run", self.max_rows_per_run, None),
            ("--compact-delete-file-threshold", self.compact_delete_file_threshold, None),
            ("--expire-outputs-after-hours", self.expire_outputs_after_hours, None),
            ("--expire-raw-after-hours", self.expire_raw_after_hours, None),
            ("--from-snapshot-exclusive", FULL_HISTORY if self.reprocess_all else self.from_snapshot_exclusive, None),
            ("--to-snapshot-inclusive", self.to_snapshot_inclusive, None),
            ("--layers", self.layers, "both"),
        ]
        for flag, value, default in options:
            if value != default:
                argv += [flag, str(value)]
        flags = [
            ("--no-checkpoint", self.no_checkpoint),
            ("--replay-quarantine", self.replay_quarantine),
            ("--dry-run", self.dry_run),
        ]
        return argv + [flag for flag, on in flags if on]

    def writes(self, layer: str) -> bool:
        return self.layers in ("both", layer)

    @property
    def explicit_range(self) -> bool:
        """The run reads a range it was given (a backfill or a reprocess), not from its checkpoint."""
        return self.from_snapshot_exclusive is not None or self.reprocess_all

    @property
    def maintains_tables(self) -> bool:
        """Any table maintenance after the commits (``spark_jobs.maintenance.after_run``)."""
        return not self.dry_run and any(
            value is not None
            for value in (
                self.compact_delete_file_threshold,
                self.expire_outputs_after_hours,
                self.expire_raw_after_hours,
            )
        )


def _snapshot(value: str) -> int | str:
    if value.lower() == FULL_HISTORY:
        return FULL_HISTORY
    try:
        return int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"a raw snapshot id or '{FULL_HISTORY}', got {value!r}") from exc


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"a positive whole number, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="unified_job", description="Raw Iceberg -> curated + semantic, once.")
    p.add_argument("--topic", required=True)
    p.add_argument("--contracts-dir", default="contracts")
    p.add_argument("--expectations-dir", default="expectations")
    p.add_argument("--warehouse", default=DEFAULT_WAREHOUSE)
    p.add_argument("--catalog-type", choices=("hadoop", "glue"), default="hadoop")
    p.add_argument("--run-id", default="")
    p.add_argument("--airflow-run-id", help="the Airflow DAG run id (recorded in ops_db.unified_job_runs)")
    p.add_argument("--run-report")
    p.add_argument(
        "--data-docs-site",
        help="GX Data Docs site (folder or s3://bucket/prefix) to publish the run's validation result to",
    )
    p.add_argument("--checkpoint-mode", choices=("tiered", "unified"))
    p.add_argument(
        "--from-snapshot-exclusive",
        type=_snapshot,
        help=f"reprocess after this raw snapshot ('{FULL_HISTORY}': from the first)",
    )
    p.add_argument("--to-snapshot-inclusive", type=int)
    p.add_argument(
        "--max-rows-per-run",
        type=_positive,
        help="take at most this many new raw rows (whole snapshots, oldest first); the rest is left "
        "for the next run. Bounds memory on a large backlog. Ignored with --to-snapshot-inclusive",
    )
    p.add_argument("--layers", choices=("both", "curated", "semantic"), default="both")
    p.add_argument("--no-checkpoint", action="store_true", help="do not move the live checkpoints (backfill)")
    p.add_argument("--dry-run", action="store_true", help="compute and report, write nothing")
    p.add_argument(
        "--replay-quarantine",
        action="store_true",
        help="re-judge the versions in <topic>_errors against the current contract and suite (re-read "
        "from raw); those that now pass move to semantic. Checkpoints and curated are not touched",
    )
    maintenance = p.add_argument_group("table maintenance after the commits (never changes the outcome)")
    maintenance.add_argument(
        "--compact-delete-file-threshold",
        type=_positive,
        metavar="N",
        help="compact the output tables (Iceberg rewrite_data_files): data files with N or more delete "
        "files, and groups of small files",
    )
    maintenance.add_argument(
        "--expire-outputs-after-hours",
        type=_positive,
        metavar="H",
        help="expire output snapshots older than H hours, never the one holding a layer's checkpoint",
    )
    maintenance.add_argument(
        "--expire-raw-after-hours",
        type=_positive,
        metavar="H",
        help="expire raw snapshots older than H hours, never past the slower layer's checkpoint",
    )
    return p


def parse_args(argv: Sequence[str] | None = None) -> JobArgs:
    ns = build_parser().parse_args(argv)
    from_snapshot = ns.from_snapshot_exclusive
    args = JobArgs(
        topic=ns.topic,
        contracts_dir=ns.contracts_dir,
        expectations_dir=ns.expectations_dir,
        warehouse=ns.warehouse,
        catalog_type=ns.catalog_type,
        run_id=ns.run_id or f"manual__{uuid.uuid4().hex[:12]}",
        airflow_run_id=ns.airflow_run_id,
        run_report=ns.run_report,
        data_docs_site=ns.data_docs_site,
        checkpoint_mode=ns.checkpoint_mode,
        from_snapshot_exclusive=None if from_snapshot in (None, FULL_HISTORY) else int(from_snapshot),
        reprocess_all=from_snapshot == FULL_HISTORY,
        to_snapshot_inclusive=ns.to_snapshot_inclusive,
        max_rows_per_run=ns.max_rows_per_run,
        layers=ns.layers,
        no_checkpoint=ns.no_checkpoint,
        dry_run=ns.dry_run,
        replay_quarantine=ns.replay_quarantine,
        compact_delete_file_threshold=ns.compact_delete_file_threshold,
        expire_outputs_after_hours=ns.expire_outputs_after_hours,
        expire_raw_after_hours=ns.expire_raw_after_hours,
    )
    problem = one_layer_reprocess_problem(args.explicit_range, args.layers, args.no_checkpoint)
    if problem:
        raise JobArgumentError(problem)
    if args.replay_quarantine and (
        args.from_snapshot_exclusive is not None
        or args.reprocess_all
        or args.to_snapshot_inclusive is not None
        or args.layers == "curated"
    ):
        raise JobArgumentError(
            "--replay-quarantine re-reads the quarantined versions themselves: it takes no snapshot "
            "range, and writes the semantic layer only (drop --from/--to-snapshot options and --layers curated)"
        )
    return args
