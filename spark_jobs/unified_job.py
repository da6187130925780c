"""The unified job: read raw once -> dedup once -> drift once -> curated + semantic.

``main`` parses arguments, builds the session and writes the report; ``run`` is the
pipeline; each step lives in its own package (read/, dedup/, parse/, drift/,
curated/, semantic/, commit/), then the table maintenance (maintenance/after_run.py).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.commit.checkpoints import read_checkpoints
from spark_jobs.commit.upsert import pin
from spark_jobs.config.contract import DEFAULT_MAX_EVENT_TS_AHEAD_MINUTES, TopicContract, load_contract
from spark_jobs.config.curated_bounds import CuratedBounds
from spark_jobs.config.job_args import JobArgs, parse_args
from spark_jobs.config.storage import write_text
from spark_jobs.config.suite import TopicSuite, load_suite
from spark_jobs.curated import write as curated_write
from spark_jobs.dedup.deduplicate import (
    DEDUP_STATUS,
    FUTURE,
    KEPT,
    PROCESSED,
    count_by_status,
    label_duplicates,
    rows_to_process,
)
from spark_jobs.drift.detect import detect_drift
from spark_jobs.exceptions import (
    CONFIGURATION_ERRORS,
    ContractError,
    ExpectationFailedError,
    LayerWriteError,
    RawTableError,
    UnifiedJobError,
)
from spark_jobs.faults import maybe_fail
from spark_jobs.interface import Checkpoints, Layer, commit_properties
from spark_jobs.maintenance.after_run import maintain_tables
from spark_jobs.parse.column_bounds import BoundedStructure, bound_structure
from spark_jobs.parse.payload import infer_payload_structure, leaf_paths, parse_payload, string_leaves, with_paths
from spark_jobs.read.incremental_read import (
    SnapshotRange,
    backlog_rows,
    cap_rows,
    consumed_message_ids,
    plan_range,
    read_increment,
)
from spark_jobs.read.quarantined import count_where_they_landed, read_quarantined, replayed_versions
from spark_jobs.read.snapshots import current_ancestry, table_exists
from spark_jobs.report.run_report import REPLAY_COUNTS, RunReport
from spark_jobs.semantic import pii
from spark_jobs.semantic import write as semantic_write
from spark_jobs.semantic.gx_engine import SuiteEngine
from spark_jobs.semantic.type_changes import check_type_changes
from spark_jobs.semantic.typed_rows import build_typed_rows, build_typed_values
from spark_jobs.semantic.validation_pass import validate
from spark_jobs.session import build_session
from spark_jobs.tables import TopicTables, output_bucket

log = logging.getLogger("unified_job")


@dataclass(frozen=True)
class TopicConfig:
    """The contract and suite, or why the semantic layer cannot run."""

    contract: TopicContract | None
    suite: TopicSuite | None
    problem: str | None


def load_topic_config(spark: SparkSession, args: JobArgs) -> TopicConfig:
    try:
        contract = load_contract(args.contract_uri)
        suite = load_suite(args.suite_uri, contract)
    except ContractError as exc:
        return TopicConfig(None, None, str(exc))
    if contract.topic != args.topic:
        return TopicConfig(None, None, f"{args.contract_uri}: topic {contract.topic!r} is not {args.topic!r}")
    # A type change the semantic table cannot take refuses that layer before either is
    # written. The contract itself is valid: it still sets the mode, bounds and look-back.
    refused = check_type_changes(spark, TopicTables(args.topic).semantic, contract).problem
    if refused:
        return TopicConfig(contract, None, refused)
    return TopicConfig(contract, suite, None)


def run(spark: SparkSession, args: JobArgs) -> RunReport:
    """Process the topic's new raw snapshots; never raises for a layer failure."""
    started = time.perf_counter()
    tables = TopicTables(args.topic)
    config = load_topic_config(spark, args)
    mode = args.checkpoint_mode or (config.contract.checkpoint_mode if config.contract else "tiered")
    report = RunReport(topic=args.topic, run_id=args.run_id, checkpoint_mode=mode)
    try:
        _run(spark, args, tables, config, report)
        if args.maintains_tables and not report.failed:
            with report.timed("maintenance"):
                report.maintenance = maintain_tables(spark, args)
    finally:
        report.durations_s["total"] = round(time.perf_counter() - started, 3)
    return report


def _run(spark: SparkSession, args: JobArgs, tables: TopicTables, config: TopicConfig, report: RunReport) -> None:
    if not table_exists(spark, tables.raw):
        raise RawTableError(f"topic {args.topic!r}: raw table {tables.raw} does not exist in the catalog")
    if args.replay_quarantine:
        _replay_quarantine(spark, args, tables, config, report)
        return
    with report.timed("plan"):
        ancestry = current_ancestry(spark, tables.raw)
        ids = [s.snapshot_id for s in ancestry]
        checkpoints = read_checkpoints(spark, tables, ids)
        explicit = args.from_snapshot_exclusive is not None or args.reprocess_all
        start = args.from_snapshot_exclusive if explicit else checkpoints.read_from(ids, args.layers)
        snapshot_range = plan_range(args.topic, ancestry, start, args.to_snapshot_inclusive)
        if snapshot_range is not None and not explicit:
            # An incremental run is capped even when its end is pinned (Airflow pins it to
            # the raw snapshot its sensor saw): a retry then re-plans the same slice.
            snapshot_range = cap_rows(ancestry, snapshot_range, args.max_rows_per_run)
    report.curated.checkpoint_before = checkpoints.curated
    report.semantic.checkpoint_before = checkpoints.semantic
    report.raw = {
        "from_snapshot_exclusive": start,
        "to_snapshot_inclusive": snapshot_range.to_inclusive if snapshot_range else start,
        "rows_read": 0,
        "backlog_rows": backlog_rows(ancestry, snapshot_range.to_inclusive) if snapshot_range else 0,
    }
    if snapshot_range is None:
        report.outcome = "NO_NEW_DATA"
        report.curated.checkpoint_after = checkpoints.curated
        report.semantic.checkpoint_after = checkpoints.semantic
        return

    cached: list[DataFrame] = []
    try:
        parsed, bounded = _read_dedup_parse(spark, args, tables, config, snapshot_range, report, cached)
        structure = bounded.structure
        with report.timed("drift"):
            contract_for_drift = config.contract or TopicContract(args.topic, (), "(no contract)")
            drift = detect_drift(parsed, structure, contract_for_drift, bounded)
            report.drift = drift.to_dict()
            if drift.has_drift:
                log.warning("topic %s: schema drift %s", args.topic, drift.to_json())
        _write_layers(spark, args, tables, config, snapshot_range, checkpoints, parsed, bounded, report, cached)
        # The report states the checkpoints the tables actually hold, whatever happened.
        after = read_checkpoints(spark, tables, ids)
        report.curated.checkpoint_after = after.curated
        report.semantic.checkpoint_after = after.semantic
    finally:
        for df in cached:
            df.unpersist()


def _read_dedup_parse(
    spark: SparkSession,
    args: JobArgs,
    tables: TopicTables,
    config: TopicConfig,
    snapshot_range: SnapshotRange,
    report: RunReport,
    cached: list[DataFrame],
) -> tuple[DataFrame, BoundedStructure]:
    with report.timed("read"):
        # Not persisted: the stats read one column, the structure and the labels read
        # raw once each (and its ids once more for the look-back semi join). Caching raw
        # as well would hold the increment twice in the heap: 5M rows failed in a 4g driver.
        raw = read_increment(spark, tables.raw, snapshot_range)
        stats = raw.agg(F.count(F.lit(1)).alias("rows"), F.min("ingest_ts").alias("earliest")).collect()[0]
        report.raw["rows_read"] = int(stats["rows"])
    lookback = config.contract.message_id_lookback_days if config.contract else 7
    consumed = consumed_message_ids(spark, tables.raw, snapshot_range, stats["earliest"], lookback, raw)
    return _dedup_parse(spark, tables, config, raw, consumed, report, cached)


def _dedup_parse(
    spark: SparkSession,
    tables: TopicTables,
    config: TopicConfig,
    raw: DataFrame,
    consumed: DataFrame | None,
    report: RunReport,
    cached: list[DataFrame],
) -> tuple[DataFrame, BoundedStructure]:
    with report.timed("structure"):
        # The structure of every payload of the increment, its duplicates included (a
        # retry repeats its original), so that the labelled rows are parsed as they are
        # labelled, in one pass, and cached once.
        structure = infer_payload_structure(spark, raw)
        contract_paths = [f.path for f in config.contract.fields] if config.contract else []
        structure = with_paths(structure, contract_paths)
        # Map-like objects folded, new columns capped: what one wide payload can cost.
        bounds = config.contract.curated if config.contract else CuratedBounds()
        known = curated_write.known_paths(spark, tables.curated)
        bounded = bound_structure(structure, bounds, known, contract_paths)
    with report.timed("dedup"):
        labelled = label_duplicates(
            raw,
            consumed,
            layout=output_bucket(F.col("idempotency_key")),
            max_event_ts_ahead_minutes=_max_ahead(config),
        )
        status = F.col(DEDUP_STATUS)
        parsed_all = parse_payload(
            labelled,
            string_leaves(bounded.structure),
            parse_where=status.isin(*PROCESSED),
            keep_payload=status == "missing_key",  # the errors table keys them by a digest of it
            overflow=bounded.overflow_filters,
        ).persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(parsed_all)
        counts = count_by_status(parsed_all)  # the one pass: labels, parse, cache
        report.dedup = {
            "network_duplicates": counts["network_duplicate"],
            "already_consumed": counts["already_consumed"],
            "superseded_versions": counts["superseded"],
            "missing_keys": counts["missing_key"],
            "event_ts_in_future": counts[FUTURE],
            "reused_message_ids": counts["reused_message_ids"],
            "rows_out": counts[KEPT],
        }
        parsed = rows_to_process(parsed_all)
    return parsed, bounded


def _write_layers(
    spark: SparkSession,
    args: JobArgs,
    tables: TopicTables,
    config: TopicConfig,
    snapshot_range: SnapshotRange,
    checkpoints: Checkpoints,
    parsed: DataFrame,
    bounded: BoundedStructure,
    report: RunReport,
    cached: list[DataFrame],
) -> None:
    # Unified mode: semantic first, curated's last commit carries the one checkpoint
    # (``commit_properties``), so any failure leaves it where it was and both layers redo
    # the increment. Tiered: curated first, each layer's commit carries its own.
    unified = report.checkpoint_mode == "unified" and args.layers == "both"
    order: list[Layer] = ["semantic", "curated"] if unified else ["curated", "semantic"]
    explicit = args.from_snapshot_exclusive is not None or args.reprocess_all or unified
    outcome = "FULL_SUCCESS"
    for layer in order:
        layer_report = report.curated if layer == "curated" else report.semantic
        before = checkpoints.curated if layer == "curated" else checkpoints.semantic
        if not args.writes(layer):
            layer_report.status = "skipped"
            continue
        if before == snapshot_range.to_inclusive and not explicit:
            layer_report.status = "up_to_date"
            continue
        try:
            with report.timed(layer):
                if layer == "curated":
                    _write_curated(
                        spark, args, tables, snapshot_range, parsed, bounded, report, cached, _max_ahead(config)
                    )
                else:
                    _write_semantic(spark, args, tables, config, snapshot_range, parsed, report, cached)
            layer_report.status = "dry_run" if args.dry_run else "written"
        except Exception as exc:  # a layer failure is an outcome, not a crash
            table = tables.curated if layer == "curated" else tables.semantic
            error = exc if isinstance(exc, UnifiedJobError) else LayerWriteError(args.topic, layer, table, exc)
            layer_report.status = "failed"
            layer_report.error = str(error)
            log.error(
                "topic %s: %s layer failed: %s", args.topic, layer, error, exc_info=not isinstance(exc, UnifiedJobError)
            )
            if layer == order[0]:
                report.outcome = "CURATED_FAILED" if layer == "curated" else "SEMANTIC_FAILED"
                report.reason = str(error)
                report.retryable = not isinstance(error, CONFIGURATION_ERRORS)
                return
            outcome = "CURATED_ONLY" if layer == "semantic" else "CURATED_FAILED"
            report.reason = str(error)
    report.outcome = outcome  # type: ignore[assignment]
    maybe_fail("after_commits_before_report")


def _write_curated(
    spark: SparkSession,
    args: JobArgs,
    tables: TopicTables,
    snapshot_range: SnapshotRange,
    parsed: DataFrame,
    bounded: BoundedStructure,
    report: RunReport,
    cached: list[DataFrame],
    max_event_ts_ahead_minutes: int,
) -> None:
    kept = parsed.where(F.col(DEDUP_STATUS) == KEPT)
    paths = leaf_paths(bounded.structure)
    report.curated.rows = report.dedup.get("rows_out", 0)
    if args.dry_run:
        return
    curated_write.ensure_table(spark, tables.curated)
    plan = curated_write.evolve_columns(spark, tables.curated, paths, overflow=bool(bounded.overflow))
    report.curated.details["new_columns"] = plan.new_columns
    rows = curated_write.build_curated_rows(kept, plan, snapshot_range.to_inclusive, args.run_id)
    properties = _properties(args, "curated", report.checkpoint_mode, snapshot_range.to_inclusive)
    with report.timed("curated.lookup"):
        pinned = pin(spark, tables.curated)
        stored = curated_write.stored_keys(spark, pinned, rows, report.curated.rows)
        stored = stored.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(stored)
        stored_count = stored.count()
    maybe_fail("before_curated_commit")
    with report.timed("curated.merge"):
        curated_write.upsert_curated(
            spark, pinned, rows, stored, stored_count, plan.table_columns, properties, max_event_ts_ahead_minutes
        )
    maybe_fail("after_curated_commit")


def _write_semantic(
    spark: SparkSession,
    args: JobArgs,
    tables: TopicTables,
    config: TopicConfig,
    snapshot_range: SnapshotRange,
    parsed: DataFrame,
    report: RunReport,
    cached: list[DataFrame],
) -> None:
    if config.contract is None or config.suite is None:
        raise ContractError(args.contract_uri, f"semantic layer not written: {config.problem}")
    contract, suite = config.contract, config.suite
    key = pii.hash_key_from_env(contract)
    pii.hide_key_in_plans(spark, key)
    with report.timed("semantic.conditions"):
        # GX's row conditions, resolved on an empty batch of the typed schema (no scan).
        engine = SuiteEngine(spark) if suite.expectations else None
        conditions = engine.row_conditions(suite, build_typed_values(parsed, contract)) if engine else []
    typed_rows = build_typed_rows(parsed, contract, conditions)
    typed = typed_rows.df.persist(StorageLevel.MEMORY_AND_DISK)
    cached.append(typed)
    maybe_fail("during_validation")
    with report.timed("semantic.validation"):
        outcome = validate(typed, typed_rows.checks, suite, contract, engine)
    total = sum(report.dedup.get(n, 0) for n in ("rows_out", "missing_keys", "event_ts_in_future"))
    report.semantic.details.update(
        {
            "rows_valid": outcome.valid_rows,
            "rows_errors": total - outcome.valid_rows,
            "failed_rules": outcome.failed_checks,
            "warned_rules": outcome.warned,
            "gx_success": outcome.result.success if outcome.result is not None else True,
            "expectations": outcome.expectations,
        }
    )
    report.validation_result = outcome.result
    if outcome.warned:
        log.warning("topic %s: rows kept despite failing warn expectations: %s", args.topic, outcome.warned)
    if outcome.failed_expectations:
        raise ExpectationFailedError(args.topic, suite.source, outcome.failed_expectations)
    report.semantic.rows = total
    if args.dry_run:
        return
    promotions = semantic_write.ensure_tables(spark, tables.semantic, tables.errors, contract)
    report.semantic.details["type_promotions"] = promotions  # contract type changes Iceberg applied in place
    with report.timed("semantic.winners"):
        pinned_semantic, pinned_errors = pin(spark, tables.semantic), pin(spark, tables.errors)
        # The narrow lookup is cached (both writes use it), not the wide winners: they
        # are the cached typed rows joined with it.
        stored = semantic_write.stored_versions(
            spark, typed, total, pinned_semantic, pinned_errors, contract.max_event_ts_ahead_minutes
        )
        stored = stored.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(stored)
        stored_keys = semantic_write.count_stored_keys(stored)
        winners, laid_out = semantic_write.select_winners(
            typed, stored, stored_keys, contract.max_event_ts_ahead_minutes
        )
    to_semantic = semantic_write.masked_semantic_rows(winners, contract, key, snapshot_range.to_inclusive, args.run_id)
    to_errors = semantic_write.masked_error_rows(
        winners, contract, key, snapshot_range.to_inclusive, args.run_id, typed_rows.errors
    )
    properties = _properties(args, "semantic", report.checkpoint_mode, snapshot_range.to_inclusive)
    maybe_fail("before_semantic_write")
    with report.timed("semantic.merges"):
        semantic_write.upsert_semantic(
            spark, pinned_semantic, pinned_errors, to_semantic, to_errors, contract, stored_keys, properties, laid_out
        )


def _replay_quarantine(
    spark: SparkSession, args: JobArgs, tables: TopicTables, config: TopicConfig, report: RunReport
) -> None:
    """``--replay-quarantine``: re-judge the versions ``<topic>_errors`` holds against the
    current contract and suite; those that pass move to semantic, the others stay with
    their new reasons. Versions are re-read from raw (``read/quarantined.py``), the
    semantic upsert keeps a newer stored version, and no checkpoint moves."""
    if config.contract is None or config.suite is None:
        raise ContractError(
            args.contract_uri, f"cannot replay the quarantine without a usable schema: {config.problem}"
        )
    ancestry = current_ancestry(spark, tables.raw)
    ids = [s.snapshot_id for s in ancestry]
    checkpoints = read_checkpoints(spark, tables, ids)
    report.curated.status = "skipped"
    for layer, checkpoint in ((report.curated, checkpoints.curated), (report.semantic, checkpoints.semantic)):
        layer.checkpoint_before = layer.checkpoint_after = checkpoint
    report.replay = dict.fromkeys(REPLAY_COUNTS, 0)
    report.raw = {"from_snapshot_exclusive": None, "to_snapshot_inclusive": ids[0] if ids else None, "rows_read": 0}
    if not ids or not table_exists(spark, tables.errors):
        report.outcome, report.reason = "NO_NEW_DATA", f"nothing quarantined: {tables.errors} does not exist yet"
        return
    cached: list[DataFrame] = []
    try:
        with report.timed("read"):
            quarantine = read_quarantined(spark, tables.raw, ids[0], pin(spark, tables.errors))
            raw = quarantine.raw.persist(StorageLevel.MEMORY_AND_DISK)
            cached.append(raw)
            versions = replayed_versions(raw).persist(StorageLevel.MEMORY_AND_DISK)
            cached.append(versions)
            replayed = versions.count()
            report.raw["rows_read"] = raw.count()
        report.replay.update(
            quarantined=quarantine.quarantined,
            not_replayable=quarantine.quarantined - quarantine.replayable,
            replayed=replayed,
            not_in_raw=quarantine.replayable - replayed,
        )
        if replayed == 0:
            report.outcome, report.reason = "NO_NEW_DATA", "no quarantined version to replay (see replay counts)"
            return
        parsed, _ = _dedup_parse(spark, tables, config, raw, None, report, cached)
        replay_args = replace(args, layers="semantic", no_checkpoint=True)
        with report.timed("semantic"):
            _write_semantic(spark, replay_args, tables, config, SnapshotRange(None, ids[0]), parsed, report, cached)
        report.semantic.status = "dry_run" if args.dry_run else "written"
        report.replay["valid_now"] = report.semantic.details.get("rows_valid", 0)
        if not args.dry_run:
            healed, still_failing = count_where_they_landed(spark, versions, tables.semantic, tables.errors)
            report.replay.update(healed=healed, still_failing=still_failing)
        report.outcome = "FULL_SUCCESS"
        log.info("topic %s: quarantine replay %s", args.topic, report.replay)
    except Exception as exc:  # as a layer failure: an outcome, not a crash
        error = (
            exc if isinstance(exc, UnifiedJobError) else LayerWriteError(args.topic, "semantic", tables.semantic, exc)
        )
        report.semantic.status, report.semantic.error = "failed", str(error)
        report.outcome, report.reason = "SEMANTIC_FAILED", f"quarantine replay: {error}"
        report.retryable = not isinstance(error, CONFIGURATION_ERRORS)
        log.error("topic %s: quarantine replay failed: %s", args.topic, error)
    finally:
        for df in cached:
            df.unpersist()


def _max_ahead(config: TopicConfig) -> int:
    return config.contract.max_event_ts_ahead_minutes if config.contract else DEFAULT_MAX_EVENT_TS_AHEAD_MINUTES


def _properties(args: JobArgs, layer: Layer, mode: str, raw_snapshot_id: int) -> dict[str, str]:
    if args.no_checkpoint:
        return {}
    return commit_properties(layer, mode, args.layers == "both", raw_snapshot_id, args.run_id)


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("py4j", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("TQDM_DISABLE", "1")  # GX's metric progress bars


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    try:
        args = parse_args(argv)
        TopicTables(args.topic)
    except UnifiedJobError as exc:
        log.error("%s", exc)
        return 2
    spark = build_session(args.catalog_type, args.warehouse, app_name=f"unified-job-{args.topic}")
    try:
        report = run(spark, args)
    except UnifiedJobError as exc:
        log.error("%s", exc)
        report = RunReport(
            topic=args.topic,
            run_id=args.run_id,
            checkpoint_mode=args.checkpoint_mode or "tiered",
            outcome="CURATED_FAILED",
            reason=str(exc),
            retryable=not isinstance(exc, CONFIGURATION_ERRORS),
        )
    for line in report.summary_lines():
        print(line, flush=True)
    if args.run_report:
        write_text(args.run_report, report.to_json())
    return exit_code(report)


def exit_code(report: RunReport) -> int:
    """0: the run's outcome stands; 1: failed, a retry may succeed; 2: usage/configuration error."""
    if not report.failed:
        return 0
    return 1 if report.retryable else 2


if __name__ == "__main__":
    sys.exit(main())
