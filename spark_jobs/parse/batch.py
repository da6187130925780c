"""The increment's rows labelled by dedup and parsed, in one pass, cached once: the batch both layers write from."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_jobs.config.curated_bounds import CuratedBounds
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
from spark_jobs.parse.column_bounds import bound_structure
from spark_jobs.parse.depth import bound_depth
from spark_jobs.parse.payload import (
    MALFORMED,
    PARSE_FAILED,
    TOO_LARGE,
    infer_payload_structure,
    parse_payload,
    with_paths,
)
from spark_jobs.run.context import Batch, CachedFrames, DedupCounts, RunContext, partitions_for
from spark_jobs.run.isolate_poison import PoisonEvents
from spark_jobs.tables import output_bucket


def not_parsed_reason(raw: DataFrame, bounds: CuratedBounds, poison: PoisonEvents | None) -> Column:
    """Why a row's payload is not parsed (null: it is): longer than ``max_payload_chars``,
    or a poison event the stages failed on. Such rows go to errors, their text to curated."""
    length = F.length(F.col("payload"))
    too_large = F.concat(
        F.lit(f"{TOO_LARGE}: "),
        length.cast("string"),
        F.lit(f" characters, more than curated.max_payload_chars ({bounds.max_payload_chars})"),
    )
    reason = F.when(length > bounds.max_payload_chars, too_large)
    return reason if poison is None else F.when(poison.matches(), F.lit(poison.reason)).otherwise(reason)


def build_batch(
    ctx: RunContext,
    raw: DataFrame,
    consumed: DataFrame | None,
    cache: CachedFrames,
    poison: PoisonEvents | None = None,
    rows: int | None = None,
) -> Batch:
    """Dedup labels, the payload structure (bounded) and the parsed rows of ``raw``.

    ``consumed``: the (message_id, key) pairs earlier runs consumed (None: none to check).
    ``poison``: rows left unparsed, quarantined with its reason (``run/isolate_poison.py``).
    ``rows``: how many rows ``raw`` holds, when known: the cached batch gets partitions to match.
    """
    config = ctx.config
    bounds = config.curated_bounds
    raw = raw.withColumn(PARSE_FAILED, not_parsed_reason(raw, bounds, poison))
    readable = F.col(PARSE_FAILED).isNull()
    # Before anything walks the payloads: values nested too deep become JSON text.
    raw = bound_depth(ctx.spark, raw, bounds.max_depth, where=readable)
    with ctx.timings.timed("structure"):
        # The structure of every payload of the increment, its duplicates included (a
        # retry repeats its original), so that the labelled rows are parsed as they are
        # labelled, in one pass, and cached once.
        structure = infer_payload_structure(ctx.spark, raw.where(readable))
        contract_paths = [f.path for f in config.contract.fields] if config.contract else []
        structure = with_paths(structure, contract_paths)
        # Map-like objects folded, new columns capped: what one wide payload can cost.
        known = curated_write.known_paths(ctx.spark, ctx.tables.curated)
        bounded = bound_structure(structure, config.curated_bounds, known, contract_paths)
    with ctx.timings.timed("dedup"):
        labelled = label_duplicates(
            raw,
            consumed,
            layout=output_bucket(F.col("idempotency_key")),
            max_event_ts_ahead_minutes=config.max_event_ts_ahead_minutes,
            partitions=None if rows is None else partitions_for(ctx.spark, rows),
        )
        status = F.col(DEDUP_STATUS)
        going_on = status.isin(*PROCESSED)
        unparsed = going_on & ~readable
        parsed = parse_payload(
            labelled,
            bounded.structure,
            parse_where=going_on & ~unparsed,
            # missing keys: the errors table keys them by a digest of it; poison: kept for replay
            keep_payload=(status == "missing_key") | unparsed,
            overflow=bounded.overflow_filters,
        )
        # no fields: judged (and kept whole in curated) as a payload that cannot be read
        parsed = parsed.withColumn(MALFORMED, F.when(unparsed, F.lit(True)).otherwise(F.col(MALFORMED)))
        parsed_all = cache.persist(parsed)
        counts = count_by_status(parsed_all)  # the one pass: labels, parse, cache
    return Batch(
        parsed=rows_to_process(parsed_all),
        bounded=bounded,
        counts=DedupCounts(
            network_duplicates=counts["network_duplicate"],
            already_consumed=counts["already_consumed"],
            superseded_versions=counts["superseded"],
            missing_keys=counts["missing_key"],
            event_ts_in_future=counts[FUTURE],
            reused_message_ids=counts["reused_message_ids"],
            rows_out=counts[KEPT],
        ),
    )
