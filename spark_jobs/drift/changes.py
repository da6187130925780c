"""What changed in a topic's drift this run, against what the drift history holds (pure).

The history (``ops_db.schema_drift``) keeps one row per topic and field path with its
state. A run's drift report is compared with it: a field seen for the first time, a
field that stopped arriving, a new type are this run's *changes* (reported, logged and
alerted once); the rest only moves ``last_seen``. A field is judged on the rows of this
run's increment: an optional field absent from a small increment counts as stopped, and
as reappeared when it comes back (both are changes, not alerts).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from spark_jobs.drift.detect import DriftReport
from spark_jobs.semantic.pii import PII_SAMPLE

DriftState = Literal["new", "missing", "type_mismatch", "back_to_normal"]
"""new: a payload field not in the contract; missing: a contract field absent from some
rows; type_mismatch: a contract field whose values do not cast to its type."""
ChangeKind = Literal[
    "first_seen", "reappeared", "type_changed", "missing", "type_mismatch", "stopped", "back_to_normal"
]
ALERTING_CHANGES: frozenset[ChangeKind] = frozenset({"first_seen", "type_changed", "type_mismatch"})
"""Changes ``alerts.on_drift`` alerts on: a field appears, or a field's type changes."""

# Field names that usually hold personal data (a new field's values are checked too:
# its sample is hidden when they look like PII, ``drift/detect.py``).
_PII_NAME = re.compile(
    r"e_?mail|phone|mobile|ssn|social_security|passport|card_?number|iban|birth|dob|"
    r"address|street|zip|postcode|post_code|first_?name|last_?name|full_?name|surname|ip_?addr|"
    r"(?:^|[._])name(?:$|[._])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FieldDrift:
    """One row of the drift history: a topic's field path and its drift state."""

    topic: str
    path: str
    state: DriftState
    json_type: str | None
    """Inferred type of a new field's values (when last seen)."""
    expected_type: str | None
    """The contract's type (missing and mistyped fields)."""
    rows: int
    """Rows affected in the last run that saw it."""
    sample: str | None
    looks_like_pii: bool
    first_seen_snapshot: int
    first_seen_at: datetime
    last_seen_snapshot: int
    last_seen_at: datetime
    state_since_snapshot: int
    state_since_at: datetime
    run_id: str
    """The run that last wrote the row."""


@dataclass(frozen=True)
class DriftChange:
    """One change of this run, as the report, the log and the drift alert show it."""

    path: str
    change: ChangeKind
    state: DriftState
    rows: int
    json_type: str | None
    expected_type: str | None
    sample: str | None
    looks_like_pii: bool
    first_seen_snapshot: int
    previous_json_type: str | None = None

    @property
    def alerts(self) -> bool:
        return self.change in ALERTING_CHANGES

    def describe(self) -> str:
        what = {
            "first_seen": f"new field, {self.json_type}",
            "reappeared": f"new field back, {self.json_type}",
            "type_changed": f"type {self.previous_json_type} -> {self.json_type}",
            "missing": f"missing in {self.rows} rows",
            "type_mismatch": f"values not {self.expected_type} in {self.rows} rows",
            "stopped": "stopped arriving",
            "back_to_normal": "back to normal",
        }[self.change]
        pii = ", looks like PII" if self.looks_like_pii else ""
        return f"{self.path} ({what}{pii}; first seen in raw snapshot {self.first_seen_snapshot})"


_ENTERS: dict[DriftState, ChangeKind] = {
    "new": "first_seen",
    "missing": "missing",
    "type_mismatch": "type_mismatch",
    "back_to_normal": "back_to_normal",
}


@dataclass(frozen=True)
class _Seen:
    state: DriftState
    rows: int
    sample: str | None
    json_type: str | None = None
    expected_type: str | None = None
    pii: bool | None = None
    """The contract's word on a contract field (None: a new field, judged by name and values)."""


def looks_like_pii(path: str, sample: str | None) -> bool:
    """A new field, by its name or its values (the sample was hidden because they look like
    PII: conservative, a date can pass for a phone number). A contract field: as classified."""
    return sample == PII_SAMPLE or bool(_PII_NAME.search(path))


def _seen(drift: DriftReport) -> dict[str, _Seen]:
    seen: dict[str, _Seen] = {f.path: _Seen("new", f.rows, f.sample, json_type=f.json_type) for f in drift.new_fields}
    for m in drift.missing_fields:
        seen[m.path] = _Seen("missing", m.rows, None, expected_type=m.expected, pii=m.pii)
    for t in drift.type_mismatches:  # a mistyped value says more than an absent one
        seen[t.path or t.field] = _Seen("type_mismatch", t.rows, t.sample, expected_type=t.expected, pii=t.pii)
    return seen


def evolve(
    previous: Iterable[FieldDrift],
    drift: DriftReport,
    *,
    topic: str,
    snapshot: int,
    at: datetime,
    run_id: str,
    backfill: bool = False,
) -> tuple[list[FieldDrift], list[DriftChange]]:
    """The topic's history after this run (every path, the unchanged ones as they were) and
    this run's changes (``snapshot``: the raw snapshot read up to).

    ``backfill``: the run read an explicit, possibly old, range (a backfill or a
    reprocess). It only adds payload fields the history has never seen (first seen in
    that range); every state is the live runs' to tell: judging today's fields by an old
    window would mark them stopped, move ``last_seen`` back, and make the next live run
    report them "reappeared" (or a contract field missing in the old window "back to
    normal").
    """
    known = {row.path: row for row in previous}
    rows: list[FieldDrift] = []
    changes: list[DriftChange] = []
    for path, now in sorted(_seen(drift).items()):
        before = known.get(path)
        if backfill and (before is not None or now.state != "new"):
            if before is not None:
                rows.append(before)
            continue
        pii = looks_like_pii(path, now.sample) if now.pii is None else now.pii
        change: ChangeKind | None = None
        if before is None:
            change = _ENTERS[now.state]
        elif before.state != now.state:
            change = "reappeared" if now.state == "new" else _ENTERS[now.state]
        elif now.state == "new" and before.json_type != now.json_type:
            change = "type_changed"
        since = (snapshot, at) if change or before is None else (before.state_since_snapshot, before.state_since_at)
        row = FieldDrift(
            topic=topic,
            path=path,
            state=now.state,
            json_type=now.json_type,
            expected_type=now.expected_type,
            rows=now.rows,
            sample=now.sample,
            looks_like_pii=pii,
            first_seen_snapshot=before.first_seen_snapshot if before else snapshot,
            first_seen_at=before.first_seen_at if before else at,
            last_seen_snapshot=snapshot,
            last_seen_at=at,
            state_since_snapshot=since[0],
            state_since_at=since[1],
            run_id=run_id,
        )
        rows.append(row)
        if change is not None:
            previous_type = before.json_type if before is not None and change == "type_changed" else None
            changes.append(_change(row, change, previous_type))
    seen = {row.path for row in rows}
    for path, before in sorted(known.items()):
        if path in seen:
            continue
        if backfill or before.state == "back_to_normal":
            rows.append(before)  # unchanged: the history is written whole (``history/drift_table.py``)
            continue
        ended: ChangeKind = "stopped" if before.state == "new" else "back_to_normal"
        row = replace(
            before, state="back_to_normal", rows=0, state_since_snapshot=snapshot, state_since_at=at, run_id=run_id
        )
        rows.append(row)
        changes.append(_change(row, ended, None))
    return rows, changes


def _change(row: FieldDrift, change: ChangeKind, previous_type: str | None) -> DriftChange:
    return DriftChange(
        path=row.path,
        change=change,
        state=row.state,
        rows=row.rows,
        json_type=row.json_type,
        expected_type=row.expected_type,
        sample=row.sample,
        looks_like_pii=row.looks_like_pii,
        first_seen_snapshot=row.first_seen_snapshot,
        previous_json_type=previous_type,
    )
