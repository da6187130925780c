"""Drift history: a run's changes against what the history holds (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

from spark_jobs.drift.changes import FieldDrift, evolve, looks_like_pii
from spark_jobs.drift.detect import DriftReport, MissingField, NewField, TypeMismatch
from spark_jobs.semantic.pii import PII_SAMPLE

T0 = datetime(2026, 12, 1, 8, 0)


def _run(previous: list[FieldDrift], drift: DriftReport, run: int) -> tuple[list[FieldDrift], list[tuple[str, str]]]:
    rows, changes = evolve(
        previous, drift, topic="orders", snapshot=100 + run, at=T0 + timedelta(hours=run), run_id=f"r{run}"
    )
    return rows, [(c.path, c.change) for c in changes]


def _merge(history: list[FieldDrift], rows: list[FieldDrift]) -> list[FieldDrift]:
    """What the write does: the rows are the topic's whole history (its partition is overwritten)."""
    assert len({r.path for r in rows}) == len(rows) and {r.path for r in history} <= {r.path for r in rows}
    return sorted(rows, key=lambda r: r.path)


def test_fields_appearing_stopping_and_changing_type_are_changes_once() -> None:
    history: list[FieldDrift] = []
    one = DriftReport(
        rows=10,
        malformed_rows=0,
        new_fields=[NewField("items", 10, "[...]", "array<string>"), NewField("coupon_code", 3, "SPRING", "string")],
        missing_fields=[MissingField("gift", "gift", 2)],
    )
    rows, changes = _run(history, one, 1)
    assert changes == [("coupon_code", "first_seen"), ("gift", "missing"), ("items", "first_seen")]
    history = _merge(history, rows)

    # the same drift again: no change, only last_seen moves
    rows, changes = _run(history, one, 2)
    assert changes == []
    history = _merge(history, rows)
    coupon = next(r for r in history if r.path == "coupon_code")
    assert (coupon.first_seen_snapshot, coupon.last_seen_snapshot, coupon.state_since_snapshot) == (101, 102, 101)
    assert coupon.first_seen_at == T0 + timedelta(hours=1) and coupon.last_seen_at == T0 + timedelta(hours=2)

    three = DriftReport(
        rows=10,
        malformed_rows=0,
        new_fields=[NewField("coupon_code", 4, "AUTUMN", "string"), NewField("promo", 1, "7", "bigint")],
        type_mismatches=[TypeMismatch("price", "decimal(10,2)", 1, "ten", "price")],
    )
    rows, changes = _run(history, three, 3)
    assert changes == [
        ("price", "type_mismatch"),
        ("promo", "first_seen"),
        ("gift", "back_to_normal"),
        ("items", "stopped"),
    ]
    history = _merge(history, rows)
    assert {r.path: r.state for r in history} == {
        "coupon_code": "new",
        "gift": "back_to_normal",
        "items": "back_to_normal",
        "price": "type_mismatch",
        "promo": "new",
    }

    four = DriftReport(
        rows=10,
        malformed_rows=0,
        new_fields=[
            NewField("coupon_code", 4, "AUTUMN", "string"),
            NewField("items", 2, "[...]", "array<string>"),
            NewField("promo", 1, "seven", "string"),
        ],
        type_mismatches=[TypeMismatch("price", "decimal(10,2)", 2, "eleven", "price")],
    )
    rows, found = evolve(history, four, topic="orders", snapshot=104, at=T0 + timedelta(hours=4), run_id="r4")
    assert [(c.path, c.change) for c in found] == [("items", "reappeared"), ("promo", "type_changed")]
    promo = next(c for c in found if c.path == "promo")
    assert (promo.previous_json_type, promo.json_type, promo.first_seen_snapshot) == ("bigint", "string", 103)
    assert [c.path for c in found if c.alerts] == ["promo"]  # a field back is a change, not an alert
    assert "type bigint -> string" in promo.describe() and "103" in promo.describe()
    history = _merge(history, rows)
    items = next(r for r in history if r.path == "items")
    assert (items.first_seen_snapshot, items.state_since_snapshot, items.state) == (101, 104, "new")
    gift = next(r for r in history if r.path == "gift")  # back to normal, not seen: kept as it was
    assert (gift.state, gift.state_since_snapshot, gift.run_id) == ("back_to_normal", 103, "r3")

    # a run without drift: everything still drifting goes back to normal, once
    rows, changes = _run(history, DriftReport(rows=10, malformed_rows=0), 5)
    assert sorted(changes) == [
        ("coupon_code", "stopped"),
        ("items", "stopped"),
        ("price", "back_to_normal"),
        ("promo", "stopped"),
    ]
    history = _merge(history, rows)
    assert _run(history, DriftReport(rows=10, malformed_rows=0), 6)[1] == []


def test_a_field_that_looks_like_pii_is_flagged_by_name_or_by_its_hidden_sample() -> None:
    assert looks_like_pii("customer.email_address", "x") and looks_like_pii("shipping.zip", None)
    assert looks_like_pii("note", PII_SAMPLE) and not looks_like_pii("coupon_code", "SPRING")
    assert looks_like_pii("payer.name", "x") and not looks_like_pii("product.nameplate", "x")
    drift = DriftReport(rows=1, malformed_rows=0, new_fields=[NewField("contact", 1, PII_SAMPLE, "string")])
    _, changes = evolve([], drift, topic="orders", snapshot=1, at=T0, run_id="r")
    assert changes[0].looks_like_pii and changes[0].alerts and "looks like PII" in changes[0].describe()


def test_a_contract_field_is_pii_as_the_contract_says() -> None:
    drift = DriftReport(
        rows=5,
        malformed_rows=0,
        missing_fields=[MissingField("email", "customer.email", 2, pii=True)],
        # a date's sample is hidden (it can pass for a phone number) but the contract says: not PII
        type_mismatches=[TypeMismatch("order_date", "date", 1, PII_SAMPLE, "order_date", pii=False)],
    )
    _, changes = evolve([], drift, topic="orders", snapshot=1, at=T0, run_id="r")
    assert {c.path: c.looks_like_pii for c in changes} == {"customer.email": True, "order_date": False}


def test_a_backfill_only_adds_fields_the_history_never_saw() -> None:
    # Issue 28 item 2: an old window must not mark today's fields stopped or move them back.
    live = DriftReport(rows=10, malformed_rows=0, new_fields=[NewField("coupon_code", 3, "SPRING", "string")])
    history, _ = _run([], live, 5)
    old_window = DriftReport(
        rows=10,
        malformed_rows=0,
        new_fields=[NewField("coupon_code", 1, "OLD", "bigint"), NewField("legacy_flag", 2, "true", "boolean")],
        missing_fields=[MissingField("gift", "gift", 2)],
    )
    rows, changes = evolve(history, old_window, topic="orders", snapshot=101, at=T0, run_id="backfill", backfill=True)
    assert [(c.path, c.change) for c in changes] == [("legacy_flag", "first_seen")]  # gift: the live runs' to judge
    assert next(r for r in rows if r.path == "coupon_code") == history[0]  # untouched: no type change, no move back
    # a window without coupon_code does not stop it either
    rows, changes = evolve(
        history, DriftReport(rows=10, malformed_rows=0), topic="orders", snapshot=101, at=T0, run_id="b", backfill=True
    )
    assert (rows, changes) == (history, [])
