"""Forget while a job run of the same topic commits (docs/RELIABILITY.md, "Forgetting a person").

The forget runs as its own process (``python -m spark_jobs.forget``, as Airflow's
local runtime starts it) and is held by the test-only barrier right after it found
every layer caught up; meanwhile new raw rows arrive, among them a late copy of the
person's order, and a job run commits them (the person's tokens are not remembered yet:
the copy lands in curated and semantic). Released, the forget deletes everything of
the person, finds that raw received rows it did not see, keeps the checkpoints where
the job left them and exits 1 (not complete: older raw snapshots hold the copy). Nothing
of anyone else is lost; run again, it completes and no byte of the person is left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spark_jobs.faults import BARRIER_DIR_ENV, BARRIER_ENV, BARRIER_PARTIES_ENV
from spark_jobs.forget.command import forget
from spark_jobs.forget.request import ForgetArgs
from spark_jobs.tables import TopicTables

from .jobkit import append_raw, checkpoints, layer_rows, run_job, topic_config
from .test_forget import EMAIL, HASH_KEY, LATE_COPY, OTHERS_1, OTHERS_2, OTHERS_3, SUBJECT, SUBJECT_1, SUBJECT_2
from .warehouse_bytes import occurrences

pytestmark = [pytest.mark.spark, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def test_forget_while_a_job_run_commits(
    spark, warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PII_HASH_KEY", HASH_KEY)
    topic, ref = "forget_c", "forget_c_ref"
    dirs = {name: topic_config(tmp_path, name) for name in (topic, ref)}
    for others, subject in ((OTHERS_1, SUBJECT_1), (OTHERS_2, SUBJECT_2)):
        append_raw(spark, topic, others + subject)
        append_raw(spark, ref, others)
        for name in (topic, ref):
            assert run_job(spark, name, dirs[name]).outcome == "FULL_SUCCESS"

    barrier = tmp_path / "barrier"
    report_path = tmp_path / "forget.json"
    args = ForgetArgs(
        topic=topic,
        field="email",
        values=(EMAIL,),
        contracts_dir=dirs[topic][0],
        expectations_dir=dirs[topic][1],
        warehouse=str(warehouse),
        report=str(report_path),
    )
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        BARRIER_ENV: "forget_after_check",
        BARRIER_DIR_ENV: str(barrier),
        BARRIER_PARTIES_ENV: "2",
        "SPARK_SHUFFLE_PARTITIONS": "2",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "spark_jobs.forget", *args.to_argv()],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not list(barrier.glob("*.arrived")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert process.poll() is None, process.communicate()[0]

    # While the forget is held: rows arrive (a late copy of the person among them) and a job commits them.
    new_raw = append_raw(spark, topic, OTHERS_3 + LATE_COPY)
    append_raw(spark, ref, OTHERS_3)
    assert run_job(spark, topic, dirs[topic]).outcome == "FULL_SUCCESS"
    assert run_job(spark, ref, dirs[ref]).outcome == "FULL_SUCCESS"
    (barrier / "test.arrived").touch()
    output = process.communicate(timeout=600)[0]

    report = json.loads(report_path.read_text())
    assert process.returncode == 1, output
    assert not report["complete"] and "raw received a commit during the forget" in report["reason"], report
    assert f"snapshot {new_raw}, append" in report["reason"]
    # Nothing of anyone else lost, the person's rows gone from every table's current state,
    # the job's checkpoint where the job left it (raw's forget snapshot does not stand for it).
    assert layer_rows(spark, topic) == layer_rows(spark, ref)
    assert checkpoints(spark, topic) == (new_raw, new_raw)

    # Run again: complete, and no byte of the person in any retained file.
    again = forget(spark, ForgetArgs(topic=topic, field="email", values=(EMAIL,), contracts_dir=dirs[topic][0]))
    assert again.complete, again.reason
    assert occurrences(warehouse / "raw_db" / topic, SUBJECT) == {}
    for namespace, table in (("curated_db", topic), ("semantic_db", topic), ("semantic_db", f"{topic}_errors")):
        assert occurrences(warehouse / namespace / table, SUBJECT) == {}
    assert layer_rows(spark, topic) == layer_rows(spark, ref)
    assert run_job(spark, topic, dirs[topic]).outcome == "NO_NEW_DATA"
    t = TopicTables(topic)
    assert spark.sql(f"SELECT * FROM {t.raw}.snapshots").count() == 1
