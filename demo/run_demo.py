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

REPO = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = REPO / "airflow_home"
AIRFLOW_DB = AIRFLOW_HOME / "airflow.db"
# the job's own summary lines (spark_jobs/report/run_report.py), relayed by the task log
SUMMARY_PREFIXES = ("topic ", "raw snapshots", "dedup:", "drift:", "curated:", "semantic:", "error:", "outcome:")


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


def run_topic(topic: str, batches: int, rows: int) -> str | None:
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
    return outcome if isinstance(outcome, str) else None


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
    outcomes = {topic: run_topic(topic, args.batches, args.rows_per_batch) for topic in topics}
    print(
        f"\ndemo finished in {time.perf_counter() - started:.0f}s: "
        + ", ".join(f"{t} {o}" for t, o in outcomes.items())
    )
    ok = {"FULL_SUCCESS", "CURATED_ONLY", "NO_NEW_DATA"}
    return 0 if all(o in ok for o in outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
