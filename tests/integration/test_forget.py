"""Forget a person (``spark_jobs.forget``): gone from every retained file, the pipeline runs on.

Two topics get the same events, except that ``forget_a`` also holds one person's: an
order corrected once, a quarantined order, a future-dated version and a keyless event.
After the forget, a scan of every file under the warehouse (raw bytes and decoded
Parquet, Avro and gzip content: ``warehouse_bytes.py``) finds neither the person's
e-mail nor their keys, and ``forget_a``'s tables equal ``forget_ref``'s, which never had
them. Then: the job runs on from the carried checkpoints, a late copy of a forgotten key
is dropped, a reprocess from the first snapshot does not bring the person back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from spark_jobs.forget.command import forget
from spark_jobs.forget.request import ForgetArgs
from spark_jobs.tables import FORGOTTEN_TABLE, TopicTables

from .jobkit import append_raw, at, checkpoints, layer_rows, run_job, topic_config
from .warehouse_bytes import occurrences

pytestmark = pytest.mark.spark

HASH_KEY = "forget-test-hmac-key-0123456789"
EMAIL = "ann@q.example"  # short: a manifest's column bounds would hold it whole (not truncated)
KEYS = ("subj-key-1", "subj-key-2", "subj-key-3")
SUBJECT = (EMAIL, *KEYS, "subj-msg-1", "subj-msg-keyless")


def _payload(order: str, email: str, **fields: object) -> str:
    doc = {"order_id": order, "amount": 10, "status": "new", "customer": {"email": email, "phone": "+44 1632 960000"}}
    doc.update(fields)
    return json.dumps(doc)


OTHERS_1 = [(f"m{i}", f"k{i}", at(i), at(i), _payload(f"o{i}", f"p{i}@x.example")) for i in range(6)]
SUBJECT_1 = [
    ("subj-msg-1", "subj-key-1", at(1), at(1), _payload("o-s1", EMAIL)),
    ("subj-msg-2", "subj-key-2", at(2), at(2), _payload("o-s2", EMAIL, amount="lots")),  # quarantined
    ("subj-msg-keyless", None, at(3), at(3), _payload("o-s4", EMAIL)),  # no key: errors, missing-key
]
OTHERS_2 = [
    ("m10", "k1", at(100), at(100), _payload("o1", "p1@x.example", status="paid")),
    ("m11", "k11", at(101), at(101), _payload("o11", "p11@x.example")),
]
SUBJECT_2 = [
    ("subj-msg-3", "subj-key-1", at(110), at(110), _payload("o-s1", EMAIL, status="paid")),
    ("subj-msg-4", "subj-key-3", at(120) + timedelta(days=2), at(120), _payload("o-s3", EMAIL)),  # future-dated
]
OTHERS_3 = [("m20", "k20", at(200), at(200), _payload("o20", "p20@x.example"))]
LATE_COPY = [("subj-msg-9", "subj-key-1", at(210), at(210), _payload("o-s1", EMAIL, status="shipped"))]


@pytest.fixture(scope="module")
def topics(spark, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, str]]]:
    root = tmp_path_factory.mktemp("forget")
    dirs = {topic: topic_config(root, topic) for topic in ("forget_a", "forget_ref")}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PII_HASH_KEY", HASH_KEY)
        for others, subject in ((OTHERS_1, SUBJECT_1), (OTHERS_2, SUBJECT_2)):
            append_raw(spark, "forget_a", others + subject)
            append_raw(spark, "forget_ref", others)
            for topic in dirs:
                assert run_job(spark, topic, dirs[topic]).outcome == "FULL_SUCCESS"
        yield dirs


def _forget(spark, topic: str, dirs: tuple[str, str], **options: object) -> dict[str, object]:
    args = ForgetArgs(topic=topic, field="email", values=(EMAIL,), contracts_dir=dirs[0], expectations_dir=dirs[1])
    return json.loads(forget(spark, replace(args, **options)).to_json())  # type: ignore[arg-type]


def _subject_rows(spark, topic: str) -> int:
    t = TopicTables(topic)
    keys = ", ".join(f"'{k}'" for k in KEYS)
    raw = spark.sql(f"SELECT * FROM {t.raw} WHERE idempotency_key IN ({keys}) OR payload LIKE '%{EMAIL}%'").count()
    outputs = sum(
        spark.sql(f"SELECT * FROM {table} WHERE _idempotency_key IN ({keys})").count()
        for table in (t.curated, t.semantic, t.errors)
    )
    return raw + outputs


def test_forget_leaves_no_byte_of_the_subject_and_the_pipeline_runs_on(spark, topics, warehouse: Path) -> None:
    assert _subject_rows(spark, "forget_a") > 0
    assert set(occurrences(warehouse, SUBJECT)) == set(SUBJECT)  # the scan finds them before

    report = _forget(spark, "forget_a", topics["forget_a"])

    assert report["complete"], report["reason"]
    assert report["keys"] == sorted(KEYS)
    tables = report["tables"]
    # raw: the 5 events; curated: every key but the future-dated and keyless ones; errors:
    # the quarantined, future-dated and keyless versions.
    assert {role: tables[role]["rows_deleted"] for role in tables} == {
        "raw": 5,
        "curated": 2,
        "semantic": 1,
        "errors": 3,
    }
    assert EMAIL not in json.dumps(report)
    assert occurrences(warehouse, SUBJECT) == {}
    assert layer_rows(spark, "forget_a") == layer_rows(spark, "forget_ref")
    assert spark.table(FORGOTTEN_TABLE).where("topic = 'forget_a'").count() == len(KEYS)

    # The checkpoints moved to raw's forget snapshot: the next run reads only what arrived since.
    raw_now = spark.sql(f"SELECT snapshot_id FROM {TopicTables('forget_a').raw}.snapshots").collect()
    assert len(raw_now) == 1  # older snapshots expired
    assert checkpoints(spark, "forget_a") == (raw_now[0][0], raw_now[0][0])
    assert run_job(spark, "forget_a", topics["forget_a"]).outcome == "NO_NEW_DATA"

    # A late copy of a forgotten key (a producer's retry in flight) is dropped by the job.
    append_raw(spark, "forget_a", OTHERS_3 + LATE_COPY)
    append_raw(spark, "forget_ref", OTHERS_3)
    late = run_job(spark, "forget_a", topics["forget_a"])
    assert late.outcome == "FULL_SUCCESS" and late.raw is not None
    assert (late.raw.rows_read, late.raw.forgotten_rows) == (2, 1)
    assert run_job(spark, "forget_ref", topics["forget_ref"]).outcome == "FULL_SUCCESS"
    assert layer_rows(spark, "forget_a") == layer_rows(spark, "forget_ref")

    # Reprocessing raw from its first retained snapshot does not bring the person back.
    again = run_job(spark, "forget_a", topics["forget_a"], reprocess_all=True)
    assert again.outcome == "FULL_SUCCESS", again.to_json()
    assert layer_rows(spark, "forget_a") == layer_rows(spark, "forget_ref")

    # The late copy is still in raw (the job never writes raw): forgetting again removes
    # it; the catch-up run first finds nothing new.
    second = _forget(spark, "forget_a", topics["forget_a"], catch_up=True)
    assert second["complete"], second["reason"]
    assert second["catch_up"] == "NO_NEW_DATA" and second["tables"]["raw"]["rows_deleted"] == 1
    assert occurrences(warehouse, SUBJECT) == {}
    assert layer_rows(spark, "forget_a") == layer_rows(spark, "forget_ref")
    assert run_job(spark, "forget_a", topics["forget_a"]).outcome == "NO_NEW_DATA"


def test_forget_refuses_while_a_layer_has_not_consumed_raw(spark, topics) -> None:
    append_raw(spark, "forget_ref", [("m30", "k30", at(300), at(300), _payload("o30", "p30@x.example"))])
    before = spark.table(TopicTables("forget_ref").raw).count()

    report = _forget(spark, "forget_ref", topics["forget_ref"])

    assert not report["complete"]
    assert "run the job first" in str(report["reason"]) and report["tables"] == {}
    assert spark.table(TopicTables("forget_ref").raw).count() == before
    assert run_job(spark, "forget_ref", topics["forget_ref"]).outcome == "FULL_SUCCESS"


def test_unified_mode_s_one_checkpoint_is_carried(spark, warehouse: Path, tmp_path: Path) -> None:
    """Unified mode: the one checkpoint lives on curated's table (``unified-job.checkpoint``)."""
    topic = "forget_u"
    dirs = topic_config(tmp_path, topic)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PII_HASH_KEY", HASH_KEY)
        append_raw(spark, topic, OTHERS_1 + SUBJECT_1)
        assert run_job(spark, topic, dirs, checkpoint_mode="unified").outcome == "FULL_SUCCESS"

        report = _forget(spark, topic, dirs)

        assert report["complete"], report["reason"]
        carried = report["tables"]["curated"]["carried"]
        assert list(carried) == ["unified-job.checkpoint"] and report["tables"]["semantic"]["carried"] == {}
        (raw_now,) = [r[0] for r in spark.sql(f"SELECT snapshot_id FROM {TopicTables(topic).raw}.snapshots").collect()]
        assert carried["unified-job.checkpoint"] == str(raw_now)
        assert checkpoints(spark, topic) == (raw_now, raw_now)
        for namespace, table in (("raw_db", topic), ("curated_db", topic), ("semantic_db", topic)):
            assert occurrences(warehouse / namespace / table, SUBJECT) == {}
        append_raw(spark, topic, OTHERS_3)
        assert run_job(spark, topic, dirs, checkpoint_mode="unified").outcome == "FULL_SUCCESS"
        assert checkpoints(spark, topic)[0] == checkpoints(spark, topic)[1] != raw_now
