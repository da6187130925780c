"""Run report: outcome, counts per step, drift, checkpoints, durations."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from spark_jobs.interface import FAILED_OUTCOMES, Checkpoints, Outcome
from spark_jobs.run.outcome import LayerResult

REPLAY_COUNTS = ("quarantined", "not_replayable", "replayed", "not_in_raw", "valid_now", "healed", "still_failing")
"""A quarantine replay's counts (``--replay-quarantine``; docs/JOB_INTERFACE.md)."""


@dataclass
class LayerReport:
    status: str = "not_run"  # written | up_to_date | skipped | dry_run | failed | not_run
    rows: int = 0
    checkpoint_before: int | None = None
    checkpoint_after: int | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunReport:
    topic: str
    run_id: str
    checkpoint_mode: str
    outcome: Outcome | None = None
    reason: str | None = None
    retryable: bool = True
    """False when a configuration error failed the run: a retry would fail the same way."""
    raw: dict[str, Any] = field(default_factory=dict)
    dedup: dict[str, int] = field(default_factory=dict)
    drift: dict[str, Any] = field(default_factory=dict)
    curated: LayerReport = field(default_factory=LayerReport)
    semantic: LayerReport = field(default_factory=LayerReport)
    replay: dict[str, int] = field(default_factory=dict)
    """Only on a quarantine replay: ``REPLAY_COUNTS``."""
    maintenance: dict[str, Any] = field(default_factory=dict)
    """Per step (compaction, output_expiry, raw_expiry): {"result": ..., "seconds": ...} or {"error": ...}."""
    durations_s: dict[str, float] = field(default_factory=dict)
    validation_result: Any = field(default=None, repr=False)
    """GX's ExpectationSuiteValidationResult of the semantic batch (kept as GX's object; not in to_dict)."""

    def record_plan(self, checkpoints: Checkpoints, start: int | None, end: int | None, backlog: int) -> None:
        """The planned raw range and the checkpoints it starts from (kept as they are until a layer commits)."""
        self.curated.checkpoint_before = self.curated.checkpoint_after = checkpoints.curated
        self.semantic.checkpoint_before = self.semantic.checkpoint_after = checkpoints.semantic
        self.raw = {
            "from_snapshot_exclusive": start,
            "to_snapshot_inclusive": end,
            "rows_read": 0,
            "backlog_rows": backlog,
        }

    def fail_before_write(self, error: Exception, retryable: bool) -> None:
        """The run stopped before writing any layer (nothing to undo; the checkpoints did not move)."""
        self.outcome, self.reason, self.retryable = "FAILED_BEFORE_WRITE", str(error), retryable

    def apply_layer(self, result: LayerResult) -> None:
        """Record what a layer's writer did."""
        layer = self.curated if result.layer == "curated" else self.semantic
        layer.status, layer.rows = result.status, result.rows
        layer.details.update(result.details)
        layer.error = str(result.error) if result.error is not None else None
        if result.validation_result is not None:
            self.validation_result = result.validation_result

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED_OUTCOMES

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(replace(self, validation_result=None))
        doc.pop("validation_result")
        for layer in ("curated", "semantic"):
            details = doc[layer].pop("details")
            doc[layer].update(details)
        return doc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, default=str)

    def summary_lines(self) -> list[str]:
        """A short human summary (no values from the data, so no PII)."""
        d = self.dedup
        lines = [
            f"topic {self.topic}  run {self.run_id}  mode {self.checkpoint_mode}",
            f"  raw snapshots ({self.raw.get('from_snapshot_exclusive')}, {self.raw.get('to_snapshot_inclusive')}]"
            f"  rows read {self.raw.get('rows_read', 0)}",
        ]
        if d:
            lines.append(
                f"  dedup: network duplicates {d.get('network_duplicates', 0)}, already consumed "
                f"{d.get('already_consumed', 0)}, superseded versions {d.get('superseded_versions', 0)}, "
                f"missing keys {d.get('missing_keys', 0)} -> {d.get('rows_out', 0)} rows"
            )
        if self.drift:
            lines.append(
                f"  drift: {len(self.drift.get('new_fields', []))} new fields, "
                f"{len(self.drift.get('missing_fields', []))} fields missing in some rows, "
                f"{len(self.drift.get('type_mismatches', []))} fields with type mismatches, "
                f"{self.drift.get('malformed_rows', 0)} malformed payloads"
            )
        lines.append(
            f"  curated: {self.curated.status}, {self.curated.rows} rows"
            + (
                f", new columns {self.curated.details.get('new_columns')}"
                if self.curated.details.get("new_columns")
                else ""
            )
        )
        lines.append(
            f"  semantic: {self.semantic.status}, {self.semantic.details.get('rows_valid', 0)} valid rows, "
            f"{self.semantic.details.get('rows_errors', 0)} to errors"
        )
        expectations = self.semantic.details.get("expectations") or []
        if expectations:
            failed = [f"{e['rule']} ({e['action']})" for e in expectations if not e["success"]]
            lines.append(
                f"  expectations (GX): {len(expectations) - len(failed)} of {len(expectations)} passed"
                + (f"; not passed: {', '.join(failed)}" if failed else "")
            )
        if self.replay:
            r = self.replay
            lines.append(
                f"  quarantine replay: {r.get('replayed', 0)} versions re-judged of {r.get('quarantined', 0)} "
                f"quarantined -> {r.get('healed', 0)} healed to semantic, {r.get('still_failing', 0)} still "
                f"failing; not replayed: {r.get('not_replayable', 0)} envelope errors, {r.get('not_in_raw', 0)} "
                "no longer in raw"
            )
        if self.maintenance:
            lines.append("  maintenance: " + ", ".join(_maintenance_summary(k, v) for k, v in self.maintenance.items()))
        if self.curated.error or self.semantic.error:
            lines.append(f"  error: {self.curated.error or self.semantic.error}")
        lines.append(
            f"  outcome: {self.outcome}"
            + (f" ({self.reason})" if self.reason else "")
            + f"  in {self.durations_s.get('total', 0):.1f}s"
        )
        return lines


def _maintenance_summary(step: str, outcome: dict[str, Any]) -> str:
    if "error" in outcome:
        return f"{step} FAILED ({outcome['error']})"
    counts: dict[str, int] = {}
    for table_result in (outcome.get("result") or {}).values():
        # per table: Iceberg's counts (compaction), or a plan with them under "expired"
        source = table_result.get("expired", table_result) if isinstance(table_result, dict) else {}
        for key, value in source.items():
            if isinstance(value, int) and not isinstance(value, bool) and value:
                counts[key] = counts.get(key, 0) + value
    shown = ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "nothing to do"
    return f"{step} {outcome.get('seconds', 0):.1f}s ({shown})"
