"""Deterministic generator of realistic raw events (pure Python, no Spark).

Each batch is a slice of arrival time (``BATCH_INTERVAL``) filled with ``rows`` events
in ingest order. Every event is one of:

- ``new``: the first version of a new entity (new message_id and idempotency_key);
- ``duplicate``: a network retry, i.e. an earlier delivery (same message_id, key,
  event_ts) re-sent later, from this batch or an earlier one, sometimes with a slightly
  different payload text;
- ``correction``: the next version of a known key (new message_id, later event_ts,
  changed values), from this batch or an earlier one;
- ``late``: an OLDER version of a key sent in an earlier batch (event_ts earlier than
  the version already sent), i.e. an out-of-order correction.

New, correction and late payloads may then get one defect: malformed JSON (truncated),
a null payload, a value of the wrong type, a missing field, or a value that breaks the
expectation suite. From batch 1 on, producers also send new fields.

Determinism: batch ``i`` depends only on (topic, seed, i, rows, rates) and the
``GeneratorState`` left by batches ``0..i-1``; nothing reads the clock. To continue a
sequence in a new process, rebuild the state with ``replay_history``.
"""

from __future__ import annotations

import gc
import json
import random
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from demo.topics import Payload, TopicProfile, profile_for

if TYPE_CHECKING:
    from _typeshed import SupportsLenAndGetItem

BASE_TIME = datetime(2024, 3, 1, 0, 0, 0, tzinfo=UTC)
"""Arrival time of batch 0; batch ``i`` arrives in ``[BASE_TIME + i*I, BASE_TIME + (i+1)*I)``."""
BATCH_INTERVAL = timedelta(hours=1)
DEFECT_KINDS = ("malformed_json", "null_payload", "type_mismatch", "missing_field", "rule_violation")
T = TypeVar("T")
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
"""Built once: ``json.dumps`` with non-default options builds a new encoder per call."""


@dataclass(frozen=True)
class RawEvent:
    """One row of a raw table (``docs/JOB_INTERFACE.md``)."""

    message_id: str
    idempotency_key: str
    event_ts: datetime
    ingest_ts: datetime
    payload: str | None

    def as_tuple(self) -> tuple[str, str, datetime, datetime, str | None]:
        return (self.message_id, self.idempotency_key, self.event_ts, self.ingest_ts, self.payload)


@dataclass(frozen=True)
class AnomalyRates:
    """Shares of a batch's events (kinds) and of new/corrected payloads (defects)."""

    duplicate: float = 0.05
    correction: float = 0.08
    late: float = 0.02
    type_mismatch: float = 0.02
    malformed_json: float = 0.01
    missing_field: float = 0.03
    rule_violation: float = 0.04
    null_payload: float = 0.003
    duplicate_payload_changed: float = 0.15
    """Share of network duplicates whose payload text differs from the first delivery."""
    cross_batch: float = 0.5
    """Share of duplicates and corrections that refer to an earlier batch (when there is one)."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"rate {name}={value} must be within [0, 1]")
        if self.duplicate + self.correction + self.late > 1.0:
            raise ValueError("duplicate + correction + late must not exceed 1")
        if sum(self.defect_weights()) > 1.0:
            raise ValueError("the defect rates must not add up to more than 1")

    def defect_weights(self) -> tuple[float, ...]:
        """Rates in ``DEFECT_KINDS`` order."""
        return (self.malformed_json, self.null_payload, self.type_mismatch, self.missing_field, self.rule_violation)


DEFAULT_RATES = AnomalyRates()


@dataclass(frozen=True)
class SentMessage:
    """A delivery already sent, remembered so that it can be re-sent (network retry)."""

    message_id: str
    idempotency_key: str
    event_ts: datetime
    payload: str | None


@dataclass
class KeyState:
    """The newest version sent of a key: the base of its next correction."""

    entity: Payload
    latest_event_ts: datetime
    batch_index: int
    """Batch of the newest version."""
    created_batch: int


@dataclass
class GeneratorState:
    """What earlier batches sent, as far as later batches need it.

    Memory is bounded: at most ``memory`` earlier messages and keys are kept (a seeded
    sample), and within a batch only the ``memory`` newest keys can be corrected, so
    1M-row batches do not hold 1M entities. ``counts`` tallies event kinds and defects
    of all batches generated so far.
    """

    topic: str
    memory: int = 50_000
    batches_done: int = 0
    messages: list[SentMessage] = field(default_factory=list)
    keys: dict[str, KeyState] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)


class BatchSpec(NamedTuple):
    """How an earlier batch was generated (what ``replay_history`` needs)."""

    rows: int
    seed: int


class FastRandom(random.Random):
    """``random.Random`` whose ``choice``/``randrange``/``randint`` use one ``random()`` call.

    The stdlib versions (rejection sampling in Python) cost 1.5-2.5x more, and an event
    takes dozens of draws. The float method's bias is below 2**-30 for the ranges used.
    """

    def choice(self, seq: SupportsLenAndGetItem[T]) -> T:
        if not len(seq):
            raise IndexError("cannot choose from an empty sequence")
        return seq[int(self.random() * len(seq))]

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if step != 1:
            return super().randrange(start, stop, step)
        low, high = (0, start) if stop is None else (start, stop)
        if high <= low:
            raise ValueError(f"empty range for randrange({low}, {high})")
        return low + int(self.random() * (high - low))

    def randint(self, a: int, b: int) -> int:
        return self.randrange(a, b + 1)


class _Batch:
    """Working memory of one batch being generated."""

    def __init__(self, state: GeneratorState, index: int, rows: int, seed: int, rates: AnomalyRates) -> None:
        self.state, self.index, self.rows, self.rates = state, index, rows, rates
        self.profile: TopicProfile = profile_for(state.topic)
        # String seeds are hashed with SHA-512 by random.seed: stable across processes.
        self.rng = FastRandom(f"{state.topic}:{seed}:{index}")
        self.start = BASE_TIME + index * BATCH_INTERVAL
        self.history_messages = list(state.messages)
        self.history_keys = [k for k, s in state.keys.items() if s.batch_index < index]
        self.messages: list[SentMessage] = []
        self.keys: list[str] = []
        """Ring buffer of this batch's newest keys (corrections come soon after creation)."""
        self.keys_added = 0
        self.events: list[RawEvent] = []
        self.next_seq = 0

    def message_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def ingest_ts(self, slot: int) -> datetime:
        # Increasing through the batch, with jitter that never crosses the next slot.
        fraction = (slot + self.rng.random() * 0.9) / self.rows
        return self.start + timedelta(microseconds=int(BATCH_INTERVAL / timedelta(microseconds=1) * fraction))

    def event_lag(self) -> timedelta:
        """How long before arrival an event happened: mostly seconds, sometimes minutes."""
        seconds = min(self.rng.expovariate(1 / 3.0), 600.0) + 0.05
        return timedelta(seconds=round(seconds, 3))

    def pick(self, own: list[T], earlier: list[T]) -> T | None:
        """A random item: from an earlier batch with ``cross_batch`` odds, else from this one."""
        use_earlier = bool(earlier) and (not own or self.rng.random() < self.rates.cross_batch)
        pool = earlier if use_earlier else own
        return pool[self.rng.randrange(len(pool))] if pool else None


def generate_batch(
    topic: str,
    batch_index: int,
    rows: int,
    seed: int,
    history: GeneratorState,
    rates: AnomalyRates = DEFAULT_RATES,
) -> list[RawEvent]:
    """Generate batch ``batch_index`` (0-based) of ``topic``: exactly ``rows`` events in ingest order.

    ``history`` must hold batches ``0..batch_index-1`` of the same topic (a fresh
    ``GeneratorState(topic)`` for batch 0, or ``replay_history``); it is updated in
    place so that the next batch can re-send and correct this one's events.
    """
    if history.topic != topic:
        raise ValueError(f"history is for topic {history.topic!r}, not {topic!r}")
    if history.batches_done != batch_index:
        raise ValueError(
            f"history holds {history.batches_done} batches but batch {batch_index} was asked: "
            "generate (or replay_history) the earlier batches first"
        )
    if rows < 0:
        raise ValueError("rows must be >= 0")
    batch = _Batch(history, batch_index, rows, seed, rates)
    # The cyclic GC would rescan the growing, acyclic event lists again and again:
    # pausing it makes big batches ~35% faster.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for slot in range(rows):
            _emit(batch, slot)
        _remember(batch)
    finally:
        if gc_was_enabled:
            gc.enable()
    return batch.events


def _emit(batch: _Batch, slot: int) -> None:
    ingest = batch.ingest_ts(slot)
    r, rates = batch.rng.random(), batch.rates
    emitted = False
    if r < rates.duplicate:
        emitted = _emit_duplicate(batch, ingest)
    elif r < rates.duplicate + rates.correction:
        emitted = _emit_correction(batch, ingest)
    elif r < rates.duplicate + rates.correction + rates.late:
        emitted = _emit_late(batch, ingest)
    if not emitted:  # nothing to repeat or correct yet: a new entity instead
        _emit_new(batch, ingest)


def _emit_new(batch: _Batch, ingest: datetime) -> None:
    event_ts = ingest - batch.event_lag()
    key, entity = batch.profile.new_entity(batch.rng, batch.index, batch.next_seq, event_ts)
    batch.next_seq += 1
    batch.state.keys[key] = KeyState(entity, event_ts, batch.index, batch.index)
    _add_batch_key(batch, key)
    _send(batch, "new", key, event_ts, ingest, entity)


def _add_batch_key(batch: _Batch, key: str) -> None:
    """Remember ``key`` for in-batch corrections; forget the oldest beyond ``memory``."""
    memory = batch.state.memory
    if len(batch.keys) < memory:
        batch.keys.append(key)
    else:
        slot = batch.keys_added % memory
        evicted = batch.keys[slot]
        if batch.state.keys[evicted].created_batch == batch.index:  # earlier batches' keys stay
            del batch.state.keys[evicted]
        batch.keys[slot] = key
    batch.keys_added += 1


def _emit_duplicate(batch: _Batch, ingest: datetime) -> bool:
    original = batch.pick(batch.messages, batch.history_messages)
    if original is None:
        return False
    payload = original.payload
    if payload is not None and batch.rng.random() < batch.rates.duplicate_payload_changed:
        payload = _retry_variant(payload, batch.rng)
    batch.events.append(RawEvent(original.message_id, original.idempotency_key, original.event_ts, ingest, payload))
    batch.state.counts["duplicate"] += 1
    return True


def _retry_variant(payload: str, rng: random.Random) -> str:
    """The same message as a retrying client re-serialized it: other key order, attempt count."""
    try:
        document = json.loads(payload)
    except json.JSONDecodeError:
        return payload  # a truncated message is re-sent as it was
    if not isinstance(document, dict):
        return payload
    document["delivery_attempt"] = rng.randint(2, 4)
    return json.dumps(document, sort_keys=True, ensure_ascii=False)


def _emit_correction(batch: _Batch, ingest: datetime) -> bool:
    key = batch.pick(batch.keys, batch.history_keys)
    if key is None:
        return False
    current = batch.state.keys[key]
    event_ts = max(ingest - batch.event_lag(), current.latest_event_ts + timedelta(milliseconds=1))
    if event_ts > ingest:  # the key's last version is too recent to be corrected at this instant
        return False
    entity = batch.profile.correct(batch.rng, current.entity, event_ts)
    batch.state.keys[key] = KeyState(entity, event_ts, batch.index, current.created_batch)
    _send(batch, "correction", key, event_ts, ingest, entity)
    return True


def _emit_late(batch: _Batch, ingest: datetime) -> bool:
    if not batch.history_keys:
        return False  # "late" means older than a version of an earlier batch
    key = batch.history_keys[batch.rng.randrange(len(batch.history_keys))]
    current = batch.state.keys[key]
    # Stuck in a producer's queue: happened before the version already sent.
    event_ts = current.latest_event_ts - timedelta(seconds=round(batch.rng.uniform(1, 900), 3))
    entity = batch.profile.older_version(batch.rng, current.entity, event_ts)
    _send(batch, "late", key, event_ts, ingest, entity)  # the key's newest version does not change
    return True


def _send(batch: _Batch, kind: str, key: str, event_ts: datetime, ingest: datetime, entity: Payload) -> None:
    payload = _serialize(batch, entity)
    message = SentMessage(batch.message_id(), key, event_ts, payload)
    batch.messages.append(message)
    batch.events.append(RawEvent(message.message_id, key, event_ts, ingest, payload))
    batch.state.counts[kind] += 1


def _serialize(batch: _Batch, entity: Payload) -> str | None:
    """The payload text, with new fields (batch >= 1) and at most one defect."""
    rng, profile = batch.rng, batch.profile
    defect = _pick_defect(rng, batch.rates)
    # A shallow copy is enough: nested objects are only changed copy-on-write (set_path).
    payload = dict(entity)
    if batch.index >= 1:
        profile.add_new_fields(rng, payload)
    if defect:
        batch.state.counts[defect] += 1
    if defect == "null_payload":
        return None
    if defect == "type_mismatch":
        profile.break_type(rng, payload)
    elif defect == "missing_field":
        profile.remove_field(rng, payload)
    elif defect == "rule_violation":
        profile.break_rule(rng, payload)
    text = _ENCODER.encode(payload)
    if defect == "malformed_json":  # a producer that died mid-write: a strict prefix never parses
        return text[: rng.randint(1, len(text) - 2)]
    return text


def _pick_defect(rng: random.Random, rates: AnomalyRates) -> str | None:
    r = rng.random()
    for kind, weight in zip(DEFECT_KINDS, rates.defect_weights(), strict=True):
        if r < weight:
            return kind
        r -= weight
    return None


def _remember(batch: _Batch) -> None:
    """Keep a bounded, seeded sample of what was sent for later batches."""
    state = batch.state
    messages = batch.history_messages + batch.messages
    if len(messages) > state.memory:
        messages = batch.rng.sample(messages, state.memory)
    state.messages = messages
    if len(state.keys) > state.memory:
        kept = set(batch.rng.sample(list(state.keys), state.memory))
        state.keys = {k: v for k, v in state.keys.items() if k in kept}
    state.batches_done += 1


def replay_history(
    topic: str, batches: Sequence[BatchSpec], rates: AnomalyRates = DEFAULT_RATES, memory: int = 50_000
) -> GeneratorState:
    """The state after batches ``0..len(batches)-1`` generated with those rows and seeds.

    Regenerating is cheap, and it is how a new process continues a sequence: batch
    ``len(batches)`` can then re-send and correct what the earlier batches sent.
    """
    state = GeneratorState(topic, memory=memory)
    for index, spec in enumerate(batches):
        generate_batch(topic, index, spec.rows, spec.seed, state, rates)
    return state


def generate_batches(
    topic: str,
    batches: int,
    rows: int,
    seed: int,
    history: GeneratorState | None = None,
    rates: AnomalyRates = DEFAULT_RATES,
) -> Iterator[list[RawEvent]]:
    """Yield ``batches`` consecutive batches, continuing ``history`` (default: from batch 0)."""
    state = history if history is not None else GeneratorState(topic)
    for _ in range(batches):
        yield generate_batch(topic, state.batches_done, rows, seed, state, rates)
