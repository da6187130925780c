"""The semantic layer of one run: type, judge (contract + GX suite), mask, then upsert into semantic or errors."""

from __future__ import annotations

import logging

from spark_jobs.commit.upsert import pin
from spark_jobs.exceptions import ContractError, ExpectationFailedError
from spark_jobs.faults import maybe_fail
from spark_jobs.run.context import Batch, CachedFrames, RunContext
from spark_jobs.run.outcome import LayerResult
from spark_jobs.semantic import pii
from spark_jobs.semantic import write as semantic_write
from spark_jobs.semantic.gx_engine import SuiteEngine
from spark_jobs.semantic.typed_rows import build_typed_rows, build_typed_values
from spark_jobs.semantic.validation_pass import validate

log = logging.getLogger(__name__)


def write_semantic(ctx: RunContext, batch: Batch, cache: CachedFrames) -> LayerResult:
    """Valid rows to semantic, the others to errors with their reasons; a ``fail``
    expectation that GX judges unsuccessful fails the layer before anything is written."""
    config, spark, tables = ctx.config, ctx.spark, ctx.tables
    if config.contract is None or config.suite is None:
        raise ContractError(ctx.args.contract_uri, f"semantic layer not written: {config.problem}")
    contract, suite = config.contract, config.suite
    key = pii.hash_key_from_env(contract)
    pii.hide_key_in_plans(spark, key)
    with ctx.timings.timed("semantic.conditions"):
        # GX's row conditions, resolved on an empty batch of the typed schema (no scan).
        engine = SuiteEngine(spark) if suite.expectations else None
        conditions = engine.row_conditions(suite, build_typed_values(batch.parsed, contract)) if engine else []
    typed_rows = build_typed_rows(batch.parsed, contract, conditions)
    typed = cache.persist(typed_rows.df)
    maybe_fail("during_validation")
    with ctx.timings.timed("semantic.validation"):
        outcome = validate(typed, typed_rows.checks, suite, contract, engine)
    total = batch.counts.semantic_candidates
    details = {
        "rows_valid": outcome.valid_rows,
        "rows_errors": total - outcome.valid_rows,
        "failed_rules": outcome.failed_checks,
        "warned_rules": outcome.warned,
        "gx_success": outcome.result.success if outcome.result is not None else True,
        "expectations": outcome.expectations,
    }
    if outcome.warned:
        log.warning("topic %s: rows kept despite failing warn expectations: %s", ctx.topic, outcome.warned)
    if outcome.failed_expectations:
        error = ExpectationFailedError(ctx.topic, suite.source, outcome.failed_expectations)
        return LayerResult("semantic", "failed", 0, details, error, outcome.result)
    if ctx.args.dry_run:
        return LayerResult("semantic", "dry_run", total, details, validation_result=outcome.result)
    details["type_promotions"] = semantic_write.ensure_tables(spark, tables.semantic, tables.errors, contract)
    ahead = contract.max_event_ts_ahead_minutes
    with ctx.timings.timed("semantic.winners"):
        pinned_semantic, pinned_errors = pin(spark, tables.semantic), pin(spark, tables.errors)
        # The narrow lookup is cached (both writes use it), not the wide winners: they
        # are the cached typed rows joined with it.
        stored = cache.persist(
            semantic_write.stored_versions(spark, typed, total, pinned_semantic, pinned_errors, ahead), rows=total
        )
        stored_keys = semantic_write.count_stored_keys(stored)
        winners, laid_out = semantic_write.select_winners(typed, stored, stored_keys, ahead)
    stamp = (ctx.raw_snapshot_id, ctx.args.run_id)
    to_semantic = semantic_write.masked_semantic_rows(winners, contract, key, *stamp)
    to_errors = semantic_write.masked_error_rows(winners, contract, key, *stamp, typed_rows.errors)
    maybe_fail("before_semantic_write")
    with ctx.timings.timed("semantic.merges"):
        semantic_write.upsert_semantic(
            spark,
            pinned_semantic,
            pinned_errors,
            to_semantic,
            to_errors,
            contract,
            stored_keys,
            ctx.commit_properties("semantic"),
            laid_out,
        )
    return LayerResult("semantic", "written", total, details, validation_result=outcome.result)
