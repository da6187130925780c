"""Forget a data subject in one topic: the order of the steps, and the report.

    python -m spark_jobs.forget --topic orders --field customer_email --values-file ann.txt [--catch-up]

1. (``--catch-up``) run the topic's job, so that every layer has consumed raw;
2. refuse unless every layer's checkpoint is raw's current snapshot (the deleted raw
   rows must have been consumed: older raw snapshots are expired below);
3. find the subject's keys in the four tables (``subject.py``) and remember their tokens
   (``forgotten_keys.py``: from now on the job drops late copies);
4. raw: delete, rewrite, rewrite manifests (``erase.py``); check that raw's snapshots
   since the checkpoint are this forget's own (no append came in between);
5. curated, semantic, errors: the same, each layer's last forget commit carrying its
   checkpoint moved to raw's new snapshot (it stands for the old one: it only removed rows);
6. check that no row of the subject is left, then expire every older snapshot and
   remove orphans: the files that held the subject are deleted.

Exit 0: forgotten, nothing of the subject in any retained file. Exit 1: not complete
(the report says why; running it again is safe and finishes the work). Exit 2: usage.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from pyspark.sql import SparkSession

from spark_jobs.commit.checkpoints import read_checkpoints
from spark_jobs.config.contract import TopicContract, load_contract
from spark_jobs.config.job_args import JobArgs
from spark_jobs.config.storage import join, write_text
from spark_jobs.curated.write import existing_columns
from spark_jobs.exceptions import JobArgumentError, MissingSecretError, UnifiedJobError, first_line
from spark_jobs.faults import maybe_wait_at_barrier
from spark_jobs.forget import erase, forgotten_keys
from spark_jobs.forget.request import ForgetArgs, parse_args
from spark_jobs.forget.subject import Subject, curated_match, in_list, not_matchable, output_match, raw_match
from spark_jobs.interface import (
    FAILED_OUTCOMES,
    PII_HASH_KEY_ENV,
    Checkpoints,
    Layer,
    TableRole,
    holds_checkpoint_keys,
    value_in,
)
from spark_jobs.maintenance.expire_outputs import plan_output_expiry
from spark_jobs.maintenance.expire_raw import plan_raw_expiry
from spark_jobs.maintenance.procedures import ExpiryPlan, as_utc
from spark_jobs.read.snapshots import SnapshotInfo, current_ancestry, table_exists
from spark_jobs.semantic.pii import hash_key_from_env
from spark_jobs.semantic.typed_rows import future_key_id, missing_key_id
from spark_jobs.tables import TopicTables

log = logging.getLogger(__name__)

FORGET_KEY = "unified-job.forget-request"
"""Summary key of every commit a forget makes: its request id."""
LAYER_OF: dict[TableRole, Layer | None] = {"raw": None, "curated": "curated", "semantic": "semantic", "errors": None}
ATTEMPTS = 3
"""Tries per table when a concurrent commit (a job run) conflicts with the forget's."""


class NotCompleteError(UnifiedJobError):
    """The forget could not finish; running it again is safe."""


@dataclass
class ForgetReport:
    topic: str
    request_id: str
    field: str | None
    values: int
    """How many values were given (never the values)."""
    keys: list[str] = dataclasses.field(default_factory=list)
    catch_up: str | None = None
    """The catch-up run's outcome (None: not asked for)."""
    raw_snapshot_before: int | None = None
    raw_snapshot_after: int | None = None
    tokens_remembered: int = 0
    remember_days: int = 0
    not_matchable: str | None = None
    tables: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    complete: bool = False
    reason: str | None = None
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, default=str)


def forget(spark: SparkSession, args: ForgetArgs) -> ForgetReport:
    """Forget the subject; the report says what was removed, and whether it is complete."""
    started = time.monotonic()
    report = ForgetReport(args.topic, args.request_id, args.field, len(args.subject_values()))
    report.remember_days = args.remember_days
    try:
        _forget(spark, args, report)
        report.complete = True
    except NotCompleteError as exc:
        report.reason = str(exc)
        log.error("topic %s: %s", args.topic, exc)
    except UnifiedJobError:
        raise  # a usage or configuration error: exit 2
    except Exception as exc:  # Spark or Iceberg failed: what was done stays done, a re-run finishes it
        log.exception("topic %s: the forget failed", args.topic)
        report.reason = f"{type(exc).__name__}: {first_line(exc)}; forgetting again is safe"
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _forget(spark: SparkSession, args: ForgetArgs, report: ForgetReport) -> None:
    tables = TopicTables(args.topic)
    contract = load_contract(join(args.contracts_dir, f"{args.topic}.yaml"))
    hash_key = _hash_key(contract)
    subject = _subject(contract, args)
    report.not_matchable = not_matchable(subject)
    if args.catch_up:
        report.catch_up = _catch_up(spark, args)
    if not table_exists(spark, tables.raw):
        raise JobArgumentError(f"topic {args.topic!r}: raw table {tables.raw} does not exist")
    raw_before, consumed = _require_caught_up(spark, tables)
    report.raw_snapshot_before = raw_before
    maybe_wait_at_barrier("forget_after_check")
    column = _curated_column(spark, tables.curated, subject)
    subject, extra_keys = _find_keys(spark, tables, subject, hash_key, column)
    report.keys = list(subject.keys)
    report.tokens_remembered = forgotten_keys.remember(
        spark, args.topic, subject.keys, hash_key, args.request_id, args.remember_days
    )
    wheres = _wheres(subject, hash_key, extra_keys, column)
    own = {FORGET_KEY: args.request_id}

    raw = _retrying(lambda: _erase_rows(spark, tables.raw, "idempotency_key", wheres["raw"], own), tables.raw)
    report.tables["raw"] = asdict(raw)
    raw_after, raw_moved = _raw_after(spark, tables, raw_before, args.request_id)
    report.raw_snapshot_after = raw_after
    for role in ("curated", "semantic", "errors"):
        table = tables.name(role)
        if not table_exists(spark, table):
            continue

        def erase_one(table: str = table, role: TableRole = role) -> erase.TableErasure:
            carried = _carried(spark, table, LAYER_OF[role], consumed, None if raw_moved else raw_after)
            erasure = _erase_rows(spark, table, "`_idempotency_key`", wheres[role], {**own, **carried})
            erasure.carried = carried
            return erasure

        report.tables[role] = asdict(_retrying(erase_one, table))
    if raw_moved:
        raise NotCompleteError(
            f"raw received a commit during the forget ({raw_moved}); the subject's rows are deleted from every "
            "table, but older raw snapshots still hold them: run the job, then forget again"
        )
    left = {role: n for role, n in _rows_left(spark, tables, wheres).items() if n}
    if left:
        raise NotCompleteError(
            f"rows of the subject are back after the deletes (a job run committed them meanwhile): {left}; forget again"
        )
    _expire_all(spark, tables, report)


def _hash_key(contract: TopicContract) -> bytes:
    key = hash_key_from_env(contract)
    if key is None:
        raise MissingSecretError(
            f"topic {contract.topic!r}: forget needs the topic's PII key ({PII_HASH_KEY_ENV}): the forgotten keys "
            "are remembered as HMAC tokens made with it (and 'pii: hash' fields are matched with it)"
        )
    return key


def _subject(contract: TopicContract, args: ForgetArgs) -> Subject:
    spec = None
    if args.field is not None:
        spec = contract.field(args.field)
        if spec is None:
            raise JobArgumentError(
                f"topic {args.topic!r}: --field {args.field!r} is not a field of {contract.source} "
                f"(fields: {', '.join(contract.field_names)})"
            )
    return Subject(spec, args.subject_values(), args.subject_keys())


def _catch_up(spark: SparkSession, args: ForgetArgs) -> str:
    """Run the topic's job (incremental, from its checkpoints), as its DAG would."""
    from spark_jobs.unified_job import run  # the job's modules (GX...) only when asked for

    job = JobArgs(
        topic=args.topic,
        contracts_dir=args.contracts_dir,
        expectations_dir=args.expectations_dir,
        warehouse=args.warehouse,
        catalog_type=args.catalog_type,
        run_id=f"{args.request_id}.catch-up",
    )
    result = run(spark, job)
    if result.outcome in FAILED_OUTCOMES:
        raise NotCompleteError(f"the catch-up run ended {result.outcome}: {result.reason}")
    return result.outcome


def _require_caught_up(spark: SparkSession, tables: TopicTables) -> tuple[int, set[int]]:
    """Raw's current snapshot and the layers' checkpoints, once every layer with a table
    has consumed every row raw holds: no snapshot after its checkpoint adds rows (a
    compaction or a delete of raw adds none, and the job never moves a checkpoint past one)."""
    ancestry = _ancestry(spark, tables.raw)
    if not ancestry:
        raise NotCompleteError(f"raw table {tables.raw} has no snapshot")
    ids = [s.snapshot_id for s in ancestry]
    checkpoints = read_checkpoints(spark, tables, ids)
    consumed, behind = set(), []
    for layer, checkpoint in (("curated", checkpoints.curated), ("semantic", checkpoints.semantic)):
        if checkpoint is None and not table_exists(spark, tables.name(layer)):  # type: ignore[arg-type]
            continue  # never written: nothing of the subject in it, no checkpoint to keep
        newer = ancestry[: ids.index(checkpoint)] if checkpoint in ids else None
        if newer is None or any(s.rows_appended() != 0 for s in newer):
            behind.append(f"{layer} at {checkpoint}")
        else:
            consumed.add(int(checkpoint))  # type: ignore[arg-type]
    if behind:
        raise NotCompleteError(
            f"not every layer has consumed raw snapshot {ids[0]} ({', '.join(behind)}): the rows to delete "
            "must have been read before raw's older snapshots go; run the job first (or --catch-up)"
        )
    return ids[0], consumed


def _find_keys(
    spark: SparkSession, tables: TopicTables, subject: Subject, hash_key: bytes, column: str | None
) -> tuple[Subject, list[str]]:
    """The subject's idempotency keys in any table (given ones included), and the errors
    table's own keys of its raw rows (keyless and future-dated versions)."""
    from pyspark.sql import functions as F

    keys = set(subject.keys)
    raw_rows = spark.table(tables.raw).where(raw_match(subject))
    blank = F.col("idempotency_key").isNull() | (F.trim("idempotency_key") == "")
    found = raw_rows.select(
        F.when(~blank, F.col("idempotency_key")).alias("key"),
        F.when(blank, missing_key_id()).otherwise(future_key_id()).alias("errors_key"),
    ).collect()
    keys |= {r["key"] for r in found if r["key"] is not None}
    errors_keys = {r["errors_key"] for r in found if r["errors_key"] is not None}
    searches = [
        (tables.curated, curated_match(subject, column)),
        (tables.semantic, output_match(subject, "semantic", hash_key)),
    ]
    for table, where in searches:
        if table_exists(spark, table):
            keys |= {
                str(r[0]) for r in spark.sql(f"SELECT DISTINCT `_idempotency_key` FROM {table} WHERE {where}").collect()
            }
    return replace(subject, keys=tuple(sorted(keys))), sorted(errors_keys)


def _curated_column(spark: SparkSession, table: str, subject: Subject) -> str | None:
    """The curated column of the subject's field (its comment holds the payload path)."""
    if subject.field is None or not table_exists(spark, table):
        return None
    return existing_columns(spark, table)[1].get(subject.field.path)


def _wheres(subject: Subject, hash_key: bytes, errors_keys: list[str], column: str | None) -> dict[TableRole, str]:
    """Each table's rows of the subject (SQL); ``column``: curated's column of the field."""
    errors = output_match(subject, "errors", hash_key)
    return {
        "raw": raw_match(subject),
        "curated": curated_match(subject, column),
        "semantic": output_match(subject, "semantic", hash_key),
        "errors": f"({errors}) OR ({in_list('`_idempotency_key`', errors_keys)})",
    }


def _erase_rows(
    spark: SparkSession, table: str, key_column: str, where: str, properties: dict[str, str]
) -> erase.TableErasure:
    """Delete, rewrite the files with deletes, rewrite the manifests: every commit carries ``properties``."""
    spark.sql(f"REFRESH TABLE {table}")
    rows, keys = erase.matching_keys(spark, table, key_column, where)
    erase.delete_rows(spark, table, where, properties)
    result = erase.TableErasure(table, rows, keys)
    result.data_files_rewritten = erase.rewrite_files_with_deletes(spark, table, properties)
    result.manifests_rewritten = erase.rewrite_manifests(spark, table, properties)
    return result


T = TypeVar("T")


def _retrying(step: Callable[[], T], table: str) -> T:
    """Run a table's forget step again when a concurrent commit made Iceberg refuse it."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return step()
        except Exception as exc:
            conflict = any(name in str(exc) for name in ("ValidationException", "CommitFailedException"))
            if not conflict or attempt == ATTEMPTS:
                if conflict:
                    raise NotCompleteError(f"{table}: a concurrent commit won {ATTEMPTS} times: {exc}") from exc
                raise
            log.warning("%s: a concurrent commit conflicted with the forget (try %d): %s", table, attempt, exc)
    raise AssertionError("unreachable")  # pragma: no cover


def _ancestry(spark: SparkSession, table: str) -> list[SnapshotInfo]:
    spark.sql(f"REFRESH TABLE {table}")
    return current_ancestry(spark, table)


def _raw_after(spark: SparkSession, tables: TopicTables, before: int, request_id: str) -> tuple[int, str | None]:
    """Raw's snapshot after the forget's commits, and the rows raw received since ``before``
    from elsewhere (None: none; a compaction adds none)."""
    ancestry = _ancestry(spark, tables.raw)
    others = []
    for snapshot in ancestry:
        if snapshot.snapshot_id == before:
            break
        if snapshot.summary.get(FORGET_KEY) != request_id and snapshot.rows_appended() != 0:
            others.append(f"snapshot {snapshot.snapshot_id}, {snapshot.operation}")
    return ancestry[0].snapshot_id, ", ".join(others) or None


def _carried(
    spark: SparkSession, table: str, layer: Layer | None, consumed: set[int], raw_after: int | None
) -> dict[str, str]:
    """The checkpoint keys this table's forget commits carry: their values as the table holds
    them, a consumed checkpoint moved to ``raw_after`` (raw's forget snapshot stands for it:
    nothing was appended in between). ``raw_after`` None (raw received rows meanwhile): unchanged."""
    if layer is None:
        return {}
    ancestry = _ancestry(spark, table)
    carried = {}
    for key in holds_checkpoint_keys(layer):
        value = value_in(ancestry, key)
        if value is not None:
            carried[key] = str(raw_after if value in consumed and raw_after is not None else value)
    return carried


def _rows_left(spark: SparkSession, tables: TopicTables, wheres: dict[TableRole, str]) -> dict[str, int]:
    left: dict[str, int] = {}
    for role, where in wheres.items():
        table = tables.name(role)
        if table_exists(spark, table):
            spark.sql(f"REFRESH TABLE {table}")
            left[role] = spark.sql(f"SELECT * FROM {table} WHERE {where}").count()
    return left


def _expire_all(spark: SparkSession, tables: TopicTables, report: ForgetReport) -> None:
    """Expire every snapshot older than each table's last (outputs first: raw's old
    snapshots go once no checkpoint points at them), then orphans; check what is left.
    The plans are the maintenance commands' own: they never expire a snapshot a
    checkpoint needs, so an incomplete carry shows as a lowered bound, not a broken run."""
    now = datetime.now()
    kept = []
    for role in ("curated", "semantic", "errors", "raw"):
        if role not in report.tables:
            continue
        table = tables.name(role)
        ancestry = _ancestry(spark, table)
        last = ancestry[0].committed_at
        if role == "raw":
            checkpoints = read_checkpoints(spark, tables, [s.snapshot_id for s in ancestry])
            if checkpoints == Checkpoints(None, None):  # no layer ever ran: nothing points into raw
                plan = ExpiryPlan(tables.topic, table, as_utc(last), as_utc(last), None, "no checkpoint yet")
            else:
                plan = plan_raw_expiry(tables.topic, checkpoints, ancestry, last)
        else:
            plan = plan_output_expiry(tables.topic, table, LAYER_OF[role], ancestry, last)
        entry = report.tables[role]
        entry["expiry"] = erase.expire(spark, plan)
        if plan.older_than is None or plan.older_than < as_utc(last):
            kept.append(f"{role}: {plan.reason}")
        entry["orphans_removed"] = erase.remove_orphans(spark, table, now)
        entry["deleted_entries_left"] = erase.deleted_entries(spark, table)
        if entry["deleted_entries_left"]:
            kept.append(f"{role}: its one manifest still lists removed files (Iceberg did not rewrite it)")
    if kept:
        raise NotCompleteError(f"older snapshots or entries kept: {'; '.join(kept)}")


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:  # what can be checked without Spark is checked first
        args = parse_args(argv)
        TopicTables(args.topic)
        contract = load_contract(join(args.contracts_dir, f"{args.topic}.yaml"))
        _subject(contract, args)
        _hash_key(contract)
    except UnifiedJobError as exc:
        log.error("%s", exc)
        return 2
    from spark_jobs.session import build_session

    spark = build_session(args.catalog_type, args.warehouse, app_name=f"forget-{args.topic}")
    try:
        report = forget(spark, args)
    except UnifiedJobError as exc:
        log.error("topic %s: %s", args.topic, exc)
        return 2
    finally:
        spark.stop()
    text = report.to_json()
    if args.report:
        write_text(args.report, text)
    print(text)
    return 0 if report.complete else 1


if __name__ == "__main__":
    sys.exit(main())
