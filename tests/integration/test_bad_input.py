"""The bad-input corpus (tests/fixtures/bad_input): every case has its documented result.

Each fixture holds raw rows and what must become of each key: which layer it lands in,
which rules put it in errors, and selected curated/semantic values. No case may crash
the job or lose a row, and no scalar may reach curated changed: every top-level value
of every kept, well-formed payload is compared with its token as Python's own JSON
parser reads it (``test_no_scalar_is_changed_on_its_way_to_curated``).

A row may say ``"repeat": N``: it stands for N rows, the i-th with message_id
``<id>-<i>``, event_ts + i seconds and ``{{I}}`` in its payload replaced by i.
A row whose payload is too large for a fixture file says ``"generate": "<kind>:<args>"``
(``demo/hostile_payloads.py``); its order_id is ``o<case number>``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from demo.hostile_payloads import generate
from spark_jobs.curated.column_names import path_from_comment
from spark_jobs.semantic.typed_rows import FUTURE_KEY_PREFIX
from spark_jobs.tables import TopicTables

from .jobkit import Row, append_raw, expected_latest, run_job, table_rows, topic_config

pytestmark = pytest.mark.spark
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "bad_input"
HUGE = "x" * 1_000_000


def _rows(doc: dict[str, Any]) -> list[Row]:
    payload = (
        generate(doc["generate"], "o" + doc["message_id"].removeprefix("bm")) if "generate" in doc else doc["payload"]
    )
    if isinstance(payload, str):
        payload = payload.replace("{{HUGE}}", HUGE)
    ts = [datetime.fromisoformat(doc[k]) if doc[k] else None for k in ("event_ts", "ingest_ts")]
    if "repeat" not in doc:
        return [(doc["message_id"], doc["idempotency_key"], ts[0], ts[1], payload)]
    return [
        (
            f"{doc['message_id']}-{i}",
            doc["idempotency_key"],
            ts[0] + timedelta(seconds=i) if ts[0] else None,
            ts[1],
            payload.replace("{{I}}", str(i)) if payload else payload,
        )
        for i in range(doc["repeat"])
    ]


def load_corpus() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(CORPUS.glob("*.json"))}


@pytest.fixture(scope="module")
def outcome(spark, tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:  # restored after the runs: no leak into other modules
        env.setenv("PII_HASH_KEY", "bad-input-key-0123456789")
        return _run_corpus(spark, tmp_path_factory)


def _run_corpus(spark, tmp_path_factory) -> dict[str, Any]:
    topic = "bad_input"
    dirs = topic_config(tmp_path_factory.mktemp(topic), topic)
    corpus = load_corpus()
    batches: list[list[Row]] = [[], []]
    for case in corpus.values():
        for index, rows in enumerate(case.get("batches") or [case["rows"]]):
            batches[index] += [row for r in rows for row in _rows(r)]
    reports = []
    for batch in batches:
        append_raw(spark, topic, batch)
        reports.append(run_job(spark, topic, dirs))
    t = TopicTables(topic)
    columns = {path_from_comment(f.metadata.get("comment")): f.name for f in spark.table(t.curated).schema.fields}
    return {
        "raw": [row for batch in batches for row in batch],
        "columns": {path: name for path, name in columns.items() if path is not None},
        "corpus": corpus,
        "reports": reports,
        "curated": {r["_idempotency_key"]: r for r in table_rows(spark, t.curated)},
        "semantic": {r["_idempotency_key"]: r for r in table_rows(spark, t.semantic)},
        "errors": {r["_idempotency_key"]: r for r in table_rows(spark, t.errors)},
        "rows": sum(len(b) for b in batches),
    }


def test_no_case_crashes_the_job(outcome) -> None:
    assert [r.outcome for r in outcome["reports"]] == ["FULL_SUCCESS", "FULL_SUCCESS"]


def test_no_row_is_lost(outcome) -> None:
    keyed = set(outcome["semantic"]) | set(outcome["errors"])
    assert len(keyed) == len(outcome["semantic"]) + len(outcome["errors"])
    expected_keys = {k for case in outcome["corpus"].values() for k in case["expect"] if not k.startswith("__")}
    assert expected_keys <= keyed
    # a future-dated version is quarantined under a key of its own, never in curated
    assert {k for k in expected_keys if not k.startswith(FUTURE_KEY_PREFIX)} - set(outcome["curated"]) == set()
    assert not [k for k in outcome["curated"] if k.startswith(FUTURE_KEY_PREFIX)]


@pytest.mark.parametrize("case_name", sorted(p.stem for p in CORPUS.glob("*.json")))
def test_case_has_its_documented_result(outcome, case_name: str) -> None:
    case = outcome["corpus"][case_name]
    for key, expect in case["expect"].items():
        if key == "__missing_keys__":
            quarantined = [k for k in outcome["errors"] if k.startswith("missing-key:")]
            assert len(quarantined) == expect
            for k in quarantined:
                assert outcome["errors"][k]["_errors"][0]["rule"] == "envelope:missing_key"
            continue
        layer = expect["layer"]
        assert key in outcome[layer], f"{case_name}: {key} not in {layer}"
        other = "errors" if layer == "semantic" else "semantic"
        assert key not in outcome[other]
        if "rules" in expect:
            rules = [e["rule"] for e in outcome["errors"][key]["_errors"]]
            assert rules == expect["rules"], f"{case_name}: {rules}"
            assert all(e["reason"] for e in outcome["errors"][key]["_errors"])
        for column, value in expect.get("curated", {}).items():
            assert outcome["curated"][key][column] == value, f"{case_name}: curated {column}"
        for column, length in expect.get("curated_len", {}).items():
            assert len(outcome["curated"][key][column]) == length
        for column, start in expect.get("curated_startswith", {}).items():
            assert outcome["curated"][key][column].startswith(start), f"{case_name}: curated {column}"
        for prefix, value in expect.get("curated_prefix", {}).items():
            matches = [c for c in outcome["curated"][key] if c.startswith(prefix)]
            assert len(matches) == 1 and outcome["curated"][key][matches[0]] == value
        for column, value in expect.get("semantic", {}).items():
            assert str(outcome["semantic"][key][column]) == value, f"{case_name}: semantic {column}"


def _tokens(payload: str) -> dict[str, str | None] | None:
    """Top-level scalars as Python's JSON parser reads them, numbers as their tokens."""
    try:
        doc = json.loads(payload, parse_float=str, parse_int=str, parse_constant=str)
    except (ValueError, RecursionError):  # Python's parser recurses: 10,000 levels are past its limit
        return None
    if not isinstance(doc, dict):
        return None
    scalars: dict[str, str | None] = {}
    for key, value in doc.items():
        if isinstance(value, bool):
            scalars[key] = "true" if value else "false"
        elif value is None or isinstance(value, str):
            scalars[key] = value
    return scalars


def test_no_scalar_is_changed_on_its_way_to_curated(outcome) -> None:
    kept = expected_latest(outcome["raw"])
    by_message: dict[tuple[str | None, str | None], Row] = {}
    for row in sorted(outcome["raw"], key=lambda r: r[3] or datetime.min):
        by_message.setdefault((row[0], row[1]), row)  # a network retry's first arrival is the one kept
    compared = 0
    for key, message_id in kept.items():
        curated = outcome["curated"][key]
        payload = by_message[(message_id, key)][4]
        tokens = _tokens(payload) if payload and curated["_malformed_payload"] is None else None
        for field, token in (tokens or {}).items():
            column = outcome["columns"].get((field,))
            if column is None:  # folded into JSON, or past the column bounds (_overflow)
                continue
            assert curated[column] == token, f"{key}: {field!r} is {curated[column]!r} in curated, sent {token!r}"
            compared += 1
    assert compared > 100  # not vacuous: the corpus has about 140 such values
