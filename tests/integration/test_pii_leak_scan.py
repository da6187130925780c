"""Seed known PII, run the pipeline through success, failure and quarantine paths,
then scan every place a person could read: semantic, errors, drift records, run
reports, the run and drift history tables, the GX Data Docs site and captured logs
(Python logging and the process's own stdout/stderr, which carries Spark's JVM output).
Curated is the data scientists' raw-fidelity layer and holds payload values in clear by
design (see docs/RELIABILITY.md)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from spark_jobs.faults import ENV
from spark_jobs.tables import DRIFT_TABLE, RUNS_TABLE, TopicTables, sql_string

from .jobkit import append_raw, at, run_job, table_rows, topic_config

pytestmark = pytest.mark.spark

EMAIL, PHONE, CARD, NAME = "leak.me@example.com", "+44 20 7946 0958", "4929 1234 5678 9012", "Zebedee Quux"
SEEDED = [EMAIL, PHONE, CARD, NAME, "leak.me", "7946 0958", "5678 9012"]
# Values that look like PII in fields the contract declares ``pii: none``: the errors
# table shows them as sent (the contract classified them), so they are not SEEDED.
STATUS_EMAIL, VIEWS_PHONE = "status.text@example.org", "+1 415 555 0100"
PHONE_LIKE_ID, PLACED_AT, LONG_DECIMAL = "+44 20 7946 1111", "2026-03-01T14:00:00+02:00", "12345678.25"


def _payload(**fields: object) -> str:
    doc: dict[str, object] = {
        "order_id": "o",
        "amount": 1,
        "status": "new",
        "customer": {"email": EMAIL, "phone": PHONE, "name": NAME},
    }
    doc.update(fields)
    return json.dumps(doc)


ROWS = [
    ("p1", "k1", at(0), at(0), _payload()),  # valid: PII fields masked in semantic
    ("p2", "k2", at(0), at(0), _payload(status=STATUS_EMAIL)),  # non-PII field holding an email -> errors
    ("p3", "k3", at(0), at(0), _payload(views=VIEWS_PHONE)),  # mistyped value that is a phone number -> errors
    ("p4", "k4", at(0), at(0), _payload(contact_card=CARD, backup_email=EMAIL)),  # PII through drift
    ("p5", "k5", at(0), at(0), '{"customer": {"email": "' + EMAIL + '"}, "amount": '),  # malformed
    (None, "k6", at(0), at(0), _payload(amount=-1)),  # keyless -> errors
    ("p7", "k7", at(0), at(0), _payload(customer={"email": NAME, "phone": CARD, "name": EMAIL})),  # bad email
    # quarantined (status not in the set): its non-PII values look like phone numbers to a pattern
    (
        "p8",
        "k8",
        at(0),
        at(0),
        _payload(order_id=PHONE_LIKE_ID, created_at=PLACED_AT, amount=float(LONG_DECIMAL), status="lost"),
    ),
]


def test_no_clear_pii_outside_curated(spark, tmp_path: Path, monkeypatch, caplog, capfd) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("PII_HASH_KEY", "leak-scan-key-0123456789")
    topic = "pii_scan"
    dirs = topic_config(tmp_path, topic)
    append_raw(spark, topic, ROWS)
    monkeypatch.setenv(ENV, "before_semantic_write")  # a failure path first
    site = tmp_path / "data_docs"
    failed = run_job(spark, topic, dirs, data_docs_site=str(site))
    assert failed.outcome == "CURATED_ONLY"
    monkeypatch.delenv(ENV)
    ok = run_job(spark, topic, dirs, data_docs_site=str(site))
    assert ok.outcome == "FULL_SUCCESS" and ok.data_docs_url
    site_files = [p for p in site.rglob("*") if p.is_file()]
    history = {
        table: [r.asDict() for r in spark.sql(f"SELECT * FROM {table} WHERE topic = {sql_string(topic)}").collect()]
        for table in (RUNS_TABLE, DRIFT_TABLE)
    }
    assert len(history[RUNS_TABLE]) == 2 and {r["path"] for r in history[DRIFT_TABLE]} >= {"backup_email"}

    t = TopicTables(topic)
    places = {
        "semantic": json.dumps(table_rows(spark, t.semantic), default=str),
        "errors": json.dumps(table_rows(spark, t.errors), default=str),
        "drift records": json.dumps([failed.to_dict()["drift"], ok.to_dict()["drift"]]),
        "run reports": failed.to_json() + ok.to_json(),
        "run history": json.dumps(history[RUNS_TABLE], default=str),
        "drift history": json.dumps(history[DRIFT_TABLE], default=str),
        "data docs site": "".join(p.read_text(errors="replace") for p in site_files),
        "python logs": caplog.text,
        "stdout/stderr": "".join(capfd.readouterr()),
    }
    for place, text in places.items():
        for value in SEEDED:
            assert value not in text, f"clear PII {value!r} found in {place}"

    # the scan is not vacuous: the values are there where they are allowed to be
    curated = json.dumps(table_rows(spark, t.curated), default=str)
    assert EMAIL in curated and CARD in curated
    errors = {r["_idempotency_key"]: r for r in table_rows(spark, t.errors)}
    assert set(errors) >= {"k2", "k3", "k5", "k7"}
    # non-PII contract fields are shown as sent, even when they look like PII
    assert errors["k2"]["status"] == STATUS_EMAIL and errors["k3"]["views"] == VIEWS_PHONE
    shown = {c: errors["k8"][c] for c in ("order_id", "created_at", "amount", "status")}
    assert shown == {"order_id": PHONE_LIKE_ID, "created_at": PLACED_AT, "amount": LONG_DECIMAL, "status": "lost"}
    new_fields = {f["path"]: f["sample"] for f in ok.to_dict()["drift"]["new_fields"]}
    assert new_fields["contact_card"] == new_fields["backup_email"] == "[pii: not shown]"
    # the site shows the failing values GX lists, masked: the page was rendered from them
    assert any(p.suffix == ".html" for p in site_files) and "[pii: not shown]" in places["data docs site"]
