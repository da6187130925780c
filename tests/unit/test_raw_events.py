"""The demo generator (no Spark): determinism, every anomaly kind, timestamps, PII."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, timedelta
from typing import Any

import pytest

from demo.raw_events import (
    BASE_TIME,
    BATCH_INTERVAL,
    AnomalyRates,
    BatchSpec,
    GeneratorState,
    RawEvent,
    generate_batch,
    generate_batches,
    replay_history,
)
from demo.topics import TOPICS

ROWS, BATCHES, SEED = 2000, 3, 7
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


def _generate(topic: str, seed: int = SEED, rows: int = ROWS) -> list[list[RawEvent]]:
    return list(generate_batches(topic, BATCHES, rows, seed))


@pytest.fixture(scope="module", params=TOPICS)
def batches(request: pytest.FixtureRequest) -> list[list[RawEvent]]:
    return _generate(request.param)


@pytest.fixture(scope="module")
def orders() -> list[list[RawEvent]]:
    return _generate("orders")


@pytest.fixture(scope="module")
def payments() -> list[list[RawEvent]]:
    return _generate("payments")


def _parse(payload: str | None) -> dict[str, Any] | None:
    try:
        doc = json.loads(payload) if payload is not None else None
    except json.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def _get(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _docs(batch: list[RawEvent]) -> list[dict[str, Any]]:
    return [d for d in (_parse(e.payload) for e in batch) if d is not None]


def test_same_seed_same_events_and_different_seed_different_events() -> None:
    first, again = _generate("orders", rows=300), _generate("orders", rows=300)
    assert first == again
    other = _generate("orders", seed=SEED + 1, rows=300)
    assert [e.message_id for e in other[0]] != [e.message_id for e in first[0]]
    assert [e.payload for e in other[1]] != [e.payload for e in first[1]]


def test_replayed_history_continues_exactly_like_one_process() -> None:
    in_one_go = _generate("payments", rows=400)
    state = replay_history("payments", [BatchSpec(400, SEED)] * 2)
    assert generate_batch("payments", 2, 400, SEED, state) == in_one_go[2]


def test_batch_index_must_follow_the_history() -> None:
    with pytest.raises(ValueError, match="earlier batches first"):
        generate_batch("orders", 1, 10, SEED, GeneratorState("orders"))
    with pytest.raises(ValueError, match="topic"):
        generate_batch("orders", 0, 10, SEED, GeneratorState("payments"))
    with pytest.raises(ValueError, match="unknown demo topic"):
        generate_batch("refunds", 0, 10, SEED, GeneratorState("refunds"))


def test_rates_are_validated() -> None:
    with pytest.raises(ValueError):
        AnomalyRates(duplicate=1.5)
    with pytest.raises(ValueError):
        AnomalyRates(duplicate=0.6, correction=0.6)


def test_ids_are_non_empty_and_rows_exact(batches: list[list[RawEvent]]) -> None:
    assert [len(b) for b in batches] == [ROWS] * BATCHES
    for event in (e for b in batches for e in b):
        assert event.message_id.strip() and event.idempotency_key.strip()


def test_timestamps_are_utc_and_ordered(batches: list[list[RawEvent]]) -> None:
    for index, batch in enumerate(batches):
        start = BASE_TIME + index * BATCH_INTERVAL
        ingests = [e.ingest_ts for e in batch]
        assert ingests == sorted(ingests)
        assert start <= ingests[0] and ingests[-1] < start + BATCH_INTERVAL
        for event in batch:
            assert event.event_ts.tzinfo is UTC and event.ingest_ts.tzinfo is UTC
            assert event.event_ts <= event.ingest_ts
    fresh = [e for e in batches[0] if Counter(x.idempotency_key for x in batches[0])[e.idempotency_key] == 1]
    # new events happened a little before they arrived: seconds, at most ten minutes
    assert all(e.ingest_ts - e.event_ts <= timedelta(minutes=10, seconds=1) for e in fresh)


def test_network_duplicates_within_and_across_batches(batches: list[list[RawEvent]]) -> None:
    first_seen: dict[str, tuple[int, RawEvent]] = {}
    within = across = changed = 0
    for index, batch in enumerate(batches):
        for event in batch:
            if event.message_id not in first_seen:
                first_seen[event.message_id] = (index, event)
                continue
            origin_batch, origin = first_seen[event.message_id]
            assert (event.idempotency_key, event.event_ts) == (origin.idempotency_key, origin.event_ts)
            assert event.ingest_ts > origin.ingest_ts
            within += origin_batch == index
            across += origin_batch < index
            changed += event.payload != origin.payload
    total = within + across
    assert 0.03 * ROWS * BATCHES < total < 0.07 * ROWS * BATCHES
    assert within >= 10 and across >= 10 and changed >= 3


def _versions(batches: list[list[RawEvent]]) -> dict[str, list[tuple[int, RawEvent]]]:
    """Distinct deliveries (first arrival per message_id) per key, in arrival order."""
    seen: set[str] = set()
    per_key: dict[str, list[tuple[int, RawEvent]]] = defaultdict(list)
    for index, batch in enumerate(batches):
        for event in batch:
            if event.message_id not in seen:
                seen.add(event.message_id)
                per_key[event.idempotency_key].append((index, event))
    return per_key


def test_corrections_within_and_across_batches(batches: list[list[RawEvent]]) -> None:
    within = across = 0
    for versions in _versions(batches).values():
        for (prev_batch, prev), (batch, event) in itertools.pairwise(versions):
            if event.event_ts > prev.event_ts:  # an in-order correction
                assert event.payload != prev.payload
                within += prev_batch == batch
                across += prev_batch < batch
    assert 0.05 * ROWS * BATCHES < within + across < 0.11 * ROWS * BATCHES
    assert within >= 20 and across >= 20


def test_late_older_versions_arrive_in_later_batches(batches: list[list[RawEvent]]) -> None:
    late_per_batch = Counter[int]()
    for versions in _versions(batches).values():
        newest_ts = versions[0][1].event_ts
        for batch, event in versions[1:]:
            if event.event_ts < newest_ts:
                late_per_batch[batch] += 1
            newest_ts = max(newest_ts, event.event_ts)
    assert late_per_batch[0] == 0
    for index in range(1, BATCHES):
        assert 0.01 * ROWS < late_per_batch[index] < 0.03 * ROWS


def test_malformed_and_null_payloads(batches: list[list[RawEvent]]) -> None:
    events = [e for b in batches for e in b]
    nulls = sum(e.payload is None for e in events)
    malformed = []
    for event in events:
        if event.payload is not None:
            try:
                json.loads(event.payload)
            except json.JSONDecodeError:
                malformed.append(event.payload)
    assert 0.005 * len(events) < len(malformed) < 0.02 * len(events)
    assert all(m.startswith("{") for m in malformed)  # truncated objects, not random text
    assert 1 <= nulls < 0.01 * len(events)


def test_orders_nested_arrays_missing_and_mistyped(orders: list[list[RawEvent]]) -> None:
    docs = [d for b in orders for d in _docs(b)]
    assert sum(isinstance(_get(d, "customer.address.city"), str) for d in docs) > 0.9 * len(docs)
    items = [d["items"] for d in docs if isinstance(d.get("items"), list)]
    assert items and all(isinstance(i, dict) and {"sku", "qty", "unit_price"} <= set(i) for x in items for i in x)
    assert any(d.get("tags") for d in docs) and all(isinstance(t, str) for d in docs for t in d.get("tags", []))
    assert sum("order_id" not in d for d in docs) >= 5
    assert sum(_get(d, "customer.email") is None for d in docs) >= 5
    assert any(isinstance(d.get("amount"), str) for d in docs)
    assert any(isinstance(d.get("quantity"), float | str) for d in docs)
    assert any(d.get("order_date") == "2024-13-45" or d.get("order_date") == "2024-02-30" for d in docs)
    assert any(isinstance(d.get("amount"), float) and d["amount"] < 0 for d in docs)  # breaks the suite


def test_new_fields_appear_from_batch_one(orders: list[list[RawEvent]], payments: list[list[RawEvent]]) -> None:
    for path, topic_batches in (("coupon_code", orders), ("device.os", orders), ("three_ds.version", payments)):
        assert not any(_get(d, path) is not None for d in _docs(topic_batches[0])), path
        assert all(sum(_get(d, path) is not None for d in _docs(b)) > 0.1 * ROWS for b in topic_batches[1:]), path


def _luhn_ok(number: str) -> bool:
    digits = [int(c) for c in reversed(number)]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def test_pii_is_present(orders: list[list[RawEvent]], payments: list[list[RawEvent]]) -> None:
    order_docs = [d for b in orders for d in _docs(b)]
    emails = [_get(d, "customer.email") for d in order_docs]
    assert sum(isinstance(e, str) and bool(EMAIL.match(e)) for e in emails) > 0.9 * len(order_docs)
    assert any(isinstance(e, str) and not EMAIL.match(e) for e in emails)  # some the suite rejects
    names = [_get(d, "customer.name") for d in order_docs]
    assert all(isinstance(n, str) and " " in n for n in names if n is not None)
    phones = [_get(d, "customer.phone") for d in order_docs if _get(d, "customer.phone")]
    assert phones and all(re.fullmatch(r"\+[0-9 -]{10,}", p) for p in phones)

    payment_docs = [d for b in payments for d in _docs(b)]
    cards = [_get(d, "card.number") for d in payment_docs if _get(d, "card.number")]
    good = [c for c in cards if re.fullmatch(r"[0-9]{16}", c)]
    assert len(good) > 0.9 * len(cards) and all(_luhn_ok(c) for c in good)
    assert all(isinstance(_get(d, "card.holder"), str) for d in payment_docs if _get(d, "card.number") in good)
    assert sum(isinstance(_get(d, "payer.email"), str) for d in payment_docs) > 0.9 * len(payment_docs)


def test_defects_do_not_leak_into_later_versions() -> None:
    state = GeneratorState("orders")
    for _ in generate_batches("orders", BATCHES, ROWS, SEED, state):
        pass
    for key, kept in state.keys.items():
        assert key == f"order:{kept.entity['order_id']}"
        assert isinstance(kept.entity["amount"], float) and kept.entity["amount"] >= 0
        assert EMAIL.match(kept.entity["customer"]["email"])


def test_state_counts_match_the_rates() -> None:
    state = GeneratorState("payments")
    for _ in generate_batches("payments", BATCHES, ROWS, SEED, state):
        pass
    total = ROWS * BATCHES
    assert state.counts.total() == total + sum(
        state.counts[k] for k in ("malformed_json", "null_payload", "type_mismatch", "missing_field", "rule_violation")
    )
    assert 0.06 < state.counts["correction"] / total < 0.10
    assert 0.015 < state.counts["type_mismatch"] / total < 0.03
    assert 0.02 < state.counts["missing_field"] / total < 0.04


def test_memory_is_bounded_and_cross_batch_anomalies_remain() -> None:
    state = GeneratorState("orders", memory=100)
    batches = list(generate_batches("orders", 2, 1000, SEED, state))
    assert len(state.keys) <= 100 and len(state.messages) <= 100
    batch0_ids = {e.message_id for e in batches[0]}
    assert sum(e.message_id in batch0_ids for e in batches[1]) >= 5  # retries of batch 0
    batch0_keys = {e.idempotency_key for e in batches[0]}
    assert sum(e.idempotency_key in batch0_keys and e.message_id not in batch0_ids for e in batches[1]) >= 10
