"""Read the run history and the drift history (or any SQL) from the lakehouse.

    python -m spark_jobs.history.query --runs orders     # every run of orders: outcome, counts, lag
    python -m spark_jobs.history.query --drift orders    # every field that drifted in orders, since when
    python -m spark_jobs.history.query "SELECT ..."      # any Spark SQL over the catalog

Uses the job's own Spark session (same catalog and warehouse as the job: ``--warehouse``,
``--catalog-type``), so what it prints is what the tables hold.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from spark_jobs.session import DEFAULT_WAREHOUSE
from spark_jobs.tables import DRIFT_TABLE, RUNS_TABLE, sql_string


def runs_sql(topic: str) -> str:
    """Every run of ``topic``, oldest first: outcome, counts, lag, drift changes."""
    return (
        "SELECT started_at, run_id, outcome, dry_run, rows_read, rows_out, curated_rows, semantic_rows_valid, "
        "semantic_rows_errors, semantic_lag_snapshots, semantic_lag_rows, semantic_lag_hours, "
        f"size(drift_changes) AS drift_changes, reason FROM {RUNS_TABLE} WHERE topic = {sql_string(topic)} "
        "ORDER BY started_at"
    )


def drift_sql(topic: str) -> str:
    """Every field path of ``topic`` that drifted: its state, since when, first and last seen."""
    return (
        "SELECT path, state, json_type, expected_type, state_since_at, first_seen_at, first_seen_snapshot, "
        f"last_seen_at, rows, looks_like_pii FROM {DRIFT_TABLE} WHERE topic = {sql_string(topic)} "
        "ORDER BY first_seen_at, path"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spark_jobs.history.query", description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--runs", metavar="TOPIC", help="every run of TOPIC (ops_db.unified_job_runs)")
    what.add_argument("--drift", metavar="TOPIC", help="every field that drifted in TOPIC (ops_db.schema_drift)")
    what.add_argument("sql", nargs="?", help="any Spark SQL")
    parser.add_argument("--warehouse", default=DEFAULT_WAREHOUSE)
    parser.add_argument("--catalog-type", choices=("hadoop", "glue"), default="hadoop")
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args(argv)
    sql = runs_sql(args.runs) if args.runs else drift_sql(args.drift) if args.drift else args.sql

    from spark_jobs.session import build_session

    spark = build_session(args.catalog_type, args.warehouse, app_name="history-query")
    try:
        table = RUNS_TABLE if args.runs else DRIFT_TABLE if args.drift else None
        if table is not None and not spark.catalog.tableExists(table):
            print(f"{table} does not exist yet in {args.warehouse}: no run has written it", file=sys.stderr)
            return 1
        print(f"-- {sql}", flush=True)
        spark.sql(sql).show(args.limit, truncate=False)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
