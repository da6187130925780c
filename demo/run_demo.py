"""``make demo``: demo raw batches, then a real Airflow DAG run per topic.

For each topic: append new raw batches (the generator continues where the raw table
stands, re-sending some earlier ids), run ``airflow dags test unified__<topic>`` on the
embedded default (Airflow's sqlite metadata DB, ``runtime: local``), then print the
outcome that ``publish_outcome`` pushed to XCom and the job's run summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = REPO / "airflow_home"
AIRFLOW_DB = AIRFLOW_HOME / "airflow.db"
# the job's own summary lines (spark_jobs/report/run_report.py), relayed by the task log
SUMMARY_PREFIXES = (
    *("topic ", "raw snapshots", "dedup:", "drift:", "curated:", "semantic:", "error:", "outcome:"),
    *("semantic lag:", "validation page", "first_seen:", "reappeared:", "type_changed:", "missing:"),
    *("type_mismatch:", "stopped:", "back_to_normal:"),
)


def airflow_env() -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_DB}",
        "LAKEHOUSE_PROJECT_DIR": str(REPO),
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")]),
        "TQDM_DISABLE": "1",
    }


def airflow(*args: str) -> subprocess.CompletedProcess[str]:
    binary = str(Path(sys.executable).with_name("airflow"))
    return subprocess.run([binary, *args], env=airflow_env(), capture_output=True, text=True, check=False)


def xcom(dag_id: str, logical_date: str, task_id: str, key: str) -> object:
    with sqlite3.connect(AIRFLOW_DB) as db:
        row = db.execute(
            "SELECT x.value FROM xcom x JOIN dag_run d ON x.dag_id = d.dag_id AND x.run_id = d.run_id "
            "WHERE x.dag_id = ? AND x.task_id = ? AND x.key = ? AND d.logical_date LIKE ? "
            "ORDER BY d.id DESC LIMIT 1",
            (dag_id, task_id, key, logical_date[:19].replace("T", " ") + "%"),
        ).fetchone()
    if row is None:
        return None
    value = row[0]
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def closing_summary(results: dict[str, tuple[str | None, dict[str, Any]]]) -> list[str]:
    """The few lines a user wants after the runs: outcome, drift news, lag, where to look."""
    from spark_jobs.history.query import drift_sql, runs_sql
    from spark_jobs.tables import DRIFT_TABLE, RUNS_TABLE

    lines = ["", "== what happened"]
    for topic, (outcome, counts) in results.items():
        lag = counts.get("semantic_lag_snapshots") or 0
        lines.append(
            f"{topic}: {outcome}, {counts.get('rows_read', 0)} raw rows read; "
            f"drift: {counts.get('drift_changes', 0)} changes this run, "
            f"{len(counts.get('drift_alerts') or [])} alerted"
            + (f"; semantic lag: {lag} raw snapshots ({counts.get('semantic_lag_rows')} rows)" if lag else "")
        )
        lines += [f"   new: {text}" for text in counts.get("drift_alerts") or []]
        if counts.get("data_docs_url"):
            lines.append(f"   validation page: {counts['data_docs_url']}")
    topic = next(iter(results))
    lines += [
        f"run history: {RUNS_TABLE}, drift history: {DRIFT_TABLE} (warehouse lakehouse/warehouse); read them with",
        f"   .venv/bin/python -m spark_jobs.history.query --runs {topic}",
        f"   .venv/bin/python -m spark_jobs.history.query --drift {topic}",
        f"which run (Spark SQL): {runs_sql(topic)}",
        f"                       {drift_sql(topic)}",
    ]
    return lines


def run_topic(topic: str, batches: int, rows: int) -> tuple[str | None, dict[str, Any]]:
    from demo.generate_raw import main as generate

    generate(["--topic", topic, "--batches", str(batches), "--rows-per-batch", str(rows), "--seed", "7"])
    logical_date = datetime.now(UTC).replace(microsecond=0).isoformat()
    dag_id = f"unified__{topic}"
    print(f"\n== airflow dags test {dag_id} {logical_date}", flush=True)
    started = time.perf_counter()
    result = airflow("dags", "test", dag_id, logical_date)
    elapsed = time.perf_counter() - started
    log = AIRFLOW_HOME / "logs" / f"demo-{topic}-latest.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout + result.stderr)
    for line in (result.stdout + result.stderr).splitlines():
        if "LocalUnifiedJobHook" not in line or "[info" not in line:
            continue
        message = line.split("] ", 1)[-1].rsplit(" [airflow.", 1)[0]
        if message.lstrip().startswith(SUMMARY_PREFIXES):
            print("   " + message, flush=True)
    outcome = xcom(dag_id, logical_date, "publish_outcome", "outcome")
    counts = xcom(dag_id, logical_date, "publish_outcome", "counts")
    print(f"   XCom publish_outcome.outcome = {outcome}   (DAG run {elapsed:.0f}s, log: {log.relative_to(REPO)})")
    if counts:
        print(f"   XCom publish_outcome.counts  = {json.dumps(counts, sort_keys=True)}")
    if result.returncode != 0 and outcome is None:
        print(f"   the DAG run failed (exit {result.returncode}); see {log}", file=sys.stderr)
    return (outcome if isinstance(outcome, str) else None), (counts if isinstance(counts, dict) else {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topic", action="append", dest="topics")
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--rows-per-batch", type=int, default=2000)
    args = parser.parse_args(argv)
    topics = args.topics or ["orders", "payments"]
    os.environ.setdefault("PII_HASH_KEY", "demo-only-key-not-for-production")
    migrated = airflow("db", "migrate")
    if migrated.returncode != 0:
        print(migrated.stdout[-2000:] + migrated.stderr[-4000:], file=sys.stderr)
        return 1
    started = time.perf_counter()
    results = {topic: run_topic(topic, args.batches, args.rows_per_batch) for topic in topics}
    outcomes = {topic: outcome for topic, (outcome, _) in results.items()}
    for line in closing_summary(results):
        print(line)
    print(
        f"\ndemo finished in {time.perf_counter() - started:.0f}s: "
        + ", ".join(f"{t} {o}" for t, o in outcomes.items())
    )
    ok = {"FULL_SUCCESS", "CURATED_ONLY", "NO_NEW_DATA"}
    return 0 if all(o in ok for o in outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
