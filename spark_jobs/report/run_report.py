"""Run report: outcome, counts per step, drift, checkpoints, durations.

Each stage of a run returns a typed result, kept in :class:`StageResults` as it finishes
(a run can stop at any stage); :meth:`RunReport.build` makes the report from them once,
at the end. Its JSON (``to_dict``) is what Airflow's ``publish_outcome`` reads
(docs/JOB_INTERFACE.md).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from spark_jobs.config.job_args import JobArgs
from spark_jobs.drift.changes import DriftChange
from spark_jobs.drift.detect import DriftReport
from spark_jobs.exceptions import UnifiedJobError
from spark_jobs.interface import FAILED_OUTCOMES, Checkpoints, Layer, Outcome, TableRole, table_identifier
from spark_jobs.run.context import DedupCounts
from spark_jobs.run.isolate_poison import PoisonEvents
from spark_jobs.run.lag import SemanticLag
from spark_jobs.run.outcome import LayerResult, decide_outcome, failure_of, retryable


@dataclass(frozen=True)
class RawRead:
    """The raw range a run planned and how many rows it read from it."""

    from_snapshot_exclusive: int | None
    to_snapshot_inclusive: int | None
    rows_read: int = 0
    backlog_rows: int = 0
    """Raw rows committed after ``to_snapshot_inclusive`` (left for the next runs by the row cap)."""
    forgotten_rows: int = 0
    """Rows of forgotten keys dropped on arrival (``forget/forgotten_keys.py``), out of ``rows_read``."""


@dataclass(frozen=True)
class ReplayCounts:
    """A quarantine replay's counts (``--replay-quarantine``; docs/JOB_INTERFACE.md)."""

    quarantined: int = 0
    not_replayable: int = 0
    replayed: int = 0
    not_in_raw: int = 0
    valid_now: int = 0
    healed: int = 0
    still_failing: int = 0


@dataclass(frozen=True)
class MaintenanceStep:
    """One table maintenance step: Iceberg's counts (``result``) or the error, and its seconds."""

    seconds: float
    result: Any = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"error": self.error} if self.error is not None else {"result": self.result}
        return {**doc, "seconds": self.seconds}


@dataclass
class StageResults:
    """What each stage returned, kept as it finishes: the parts the report is built from."""

    checkpoints: Checkpoints | None = None
    """The layers' checkpoints when the run planned."""
    raw: RawRead | None = None
    dedup: DedupCounts | None = None
    drift: DriftReport | None = None
    drift_changes: list[DriftChange] = field(default_factory=list)
    """What changed against the drift history (``drift/changes.py``)."""
    layer_order: tuple[Layer, Layer] = ("curated", "semantic")
    layers: list[LayerResult] = field(default_factory=list)
    checkpoints_after: Checkpoints | None = None
    """The checkpoints the tables hold after the layers ran, whatever happened."""
    replay: ReplayCounts | None = None
    lag: SemanticLag | None = None
    data_docs_url: str | None = None
    maintenance: dict[str, MaintenanceStep] = field(default_factory=dict)
    table_snapshots: dict[TableRole, int | None] = field(default_factory=dict)
    """Each output table's snapshot after the layers, when one was written (what Airflow announces)."""
    poison: PoisonEvents | None = None
    """Events the shared stages failed on, quarantined (``run/isolate_poison.py``)."""
    ended: tuple[Outcome, str | None] | None = None
    """An outcome decided by a stage: nothing new to read, or a quarantine replay's."""
    failure: UnifiedJobError | None = None
    """The run stopped before writing any layer (nothing to undo; no checkpoint moved)."""
    after_layers: str | None = None
    """What failed once the layers had run (their outcome stands; it is the reason)."""

    def verdict(self) -> tuple[Outcome, str | None, bool]:
        """Outcome, reason and whether a retry may succeed (a configuration error fails the same way)."""
        if self.failure is not None:
            return "FAILED_BEFORE_WRITE", str(self.failure), retryable(self.failure)
        error = failure_of(self.layers)
        if self.ended is not None:
            outcome, reason = self.ended
        else:
            outcome = decide_outcome(self.layer_order, self.layers)
            reason = str(error) if error is not None else None
        if reason is None and self.after_layers is not None:
            reason = f"the layers' outcome stands, but the run failed after them: {self.after_layers}"
        if reason is None and self.poison is not None:
            reason = (
                f"{self.poison.rows} events could not be processed and were quarantined "
                f"(message ids {', '.join(str(i) for i in self.poison.message_ids)}): {self.poison.reason}"
            )
        return outcome, reason, retryable(error) if outcome in FAILED_OUTCOMES else True


@dataclass(frozen=True)
class LayerReport:
    status: str = "not_run"  # written | up_to_date | skipped | dry_run | failed | not_run
    rows: int = 0
    checkpoint_before: int | None = None
    checkpoint_after: int | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, layer: Layer, stages: StageResults) -> LayerReport:
        result = next((r for r in stages.layers if r.layer == layer), None)
        before = getattr(stages.checkpoints, layer) if stages.checkpoints else None
        after = getattr(stages.checkpoints_after, layer) if stages.checkpoints_after else before
        if result is None:
            return cls(checkpoint_before=before, checkpoint_after=after)
        error = str(result.error) if result.error is not None else None
        return cls(result.status, result.rows, before, after, error, dict(result.details))


@dataclass(frozen=True)
class RunReport:
    topic: str
    run_id: str
    checkpoint_mode: str
    outcome: Outcome
    started_at: datetime
    finished_at: datetime
    airflow_run_id: str | None = None
    reason: str | None = None
    retryable: bool = True
    """False when a configuration error failed the run: a retry would fail the same way."""
    raw: RawRead = field(default_factory=lambda: RawRead(None, None))
    """Empty when the run stopped before planning."""
    poison: PoisonEvents | None = None
    """Events the shared stages failed on, quarantined (``raw.poison_events`` in the JSON)."""
    dedup: DedupCounts | None = None
    drift: DriftReport | None = None
    drift_changes: list[DriftChange] = field(default_factory=list)
    curated: LayerReport = field(default_factory=LayerReport)
    semantic: LayerReport = field(default_factory=LayerReport)
    replay: ReplayCounts | None = None
    """Only on a quarantine replay."""
    lag: SemanticLag | None = None
    data_docs_url: str | None = None
    """The run's validation page in the GX Data Docs site."""
    maintenance: dict[str, MaintenanceStep] = field(default_factory=dict)
    """Per step (compaction, output_expiry, raw_expiry)."""
    table_snapshots: dict[TableRole, int | None] = field(default_factory=dict)
    """Each output table's current snapshot once the layers ran (empty: no layer written)."""
    durations_s: dict[str, float] = field(default_factory=dict)
    validation_result: Any = field(default=None, repr=False)
    """GX's ExpectationSuiteValidationResult of the semantic batch (kept as GX's object; not in to_dict)."""

    @classmethod
    def build(
        cls,
        args: JobArgs,
        mode: str,
        stages: StageResults,
        durations_s: dict[str, float],
        started_at: datetime,
        finished_at: datetime,
    ) -> RunReport:
        """The report, made once from what the stages returned."""
        outcome, reason, may_retry = stages.verdict()
        semantic = next((r for r in stages.layers if r.layer == "semantic"), None)
        return cls(
            topic=args.topic,
            run_id=args.run_id,
            airflow_run_id=args.airflow_run_id,
            checkpoint_mode=mode,
            outcome=outcome,
            started_at=started_at,
            finished_at=finished_at,
            reason=reason,
            retryable=may_retry,
            raw=stages.raw or RawRead(None, None),
            poison=stages.poison,
            dedup=stages.dedup,
            drift=stages.drift,
            drift_changes=list(stages.drift_changes),
            curated=LayerReport.build("curated", stages),
            semantic=LayerReport.build("semantic", stages),
            replay=stages.replay,
            lag=stages.lag,
            data_docs_url=stages.data_docs_url,
            maintenance=dict(stages.maintenance),
            table_snapshots=dict(stages.table_snapshots),
            durations_s=dict(durations_s),
            validation_result=semantic.validation_result if semantic is not None else None,
        )

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED_OUTCOMES

    def to_dict(self) -> dict[str, Any]:
        """The report's one JSON shape (a section a run did not reach is ``{}``)."""
        layers = {}
        for name, layer in (("curated", self.curated), ("semantic", self.semantic)):
            doc = asdict(layer)
            layers[name] = {**doc, **doc.pop("details")}
        changes = [{**asdict(c), "alerts": c.alerts, "text": c.describe()} for c in self.drift_changes]
        lag: dict[str, Any] = {}
        if self.lag is not None:
            advanced = self.lag.semantic_advanced_at
            lag = {**asdict(self.lag), "semantic_advanced_at": advanced.isoformat() if advanced else None}
        return {
            "topic": self.topic,
            "run_id": self.run_id,
            "airflow_run_id": self.airflow_run_id,
            "checkpoint_mode": self.checkpoint_mode,
            "outcome": self.outcome,
            "reason": self.reason,
            "retryable": self.retryable,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "raw": {**asdict(self.raw), "poison_events": self.poison.to_dict() if self.poison else {}},
            "dedup": asdict(self.dedup) if self.dedup else {},
            "drift": {**self.drift.to_dict(), "changes": changes} if self.drift else {},
            **layers,
            "replay": asdict(self.replay) if self.replay else {},
            "semantic_lag": lag,
            "data_docs": self.data_docs_url,
            "tables": {
                role: {"name": ".".join(table_identifier(self.topic, role)), "snapshot_id": snapshot_id}
                for role, snapshot_id in self.table_snapshots.items()
            },
            "maintenance": {step: result.to_dict() for step, result in self.maintenance.items()},
            "durations_s": self.durations_s,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, default=str)

    def summary_lines(self) -> list[str]:
        """A short human summary (no values from the data, so no PII)."""
        raw = self.raw
        lines = [
            f"topic {self.topic}  run {self.run_id}  mode {self.checkpoint_mode}",
            f"  raw snapshots ({raw.from_snapshot_exclusive}, {raw.to_snapshot_inclusive}]  rows read {raw.rows_read}",
        ]
        if (d := self.dedup) is not None:
            lines.append(
                f"  dedup: network duplicates {d.network_duplicates}, already consumed {d.already_consumed}, "
                f"superseded versions {d.superseded_versions}, missing keys {d.missing_keys} -> {d.rows_out} rows"
            )
        if (poison := self.poison) is not None:
            lines.append(
                f"  poison events: {poison.rows} quarantined (payload:parse_failed), found in {poison.probes} probes, "
                f"{poison.seconds:.1f}s"
            )
        if (drift := self.drift) is not None:
            lines.append(f"  drift: {drift_totals(drift)}")
            lines.extend(f"    {c.change}: {c.describe()}" for c in self.drift_changes)
        new_columns = self.curated.details.get("new_columns")
        lines.append(
            f"  curated: {self.curated.status}, {self.curated.rows} rows"
            + (f", new columns {new_columns}" if new_columns else "")
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
        if (r := self.replay) is not None:
            lines.append(
                f"  quarantine replay: {r.replayed} versions re-judged of {r.quarantined} quarantined -> "
                f"{r.healed} healed to semantic, {r.still_failing} still failing; not replayed: "
                f"{r.not_replayable} envelope errors, {r.not_in_raw} no longer in raw"
            )
        if self.lag is not None and self.lag.snapshots:
            hours = "never advanced" if self.lag.hours is None else f"last advanced {self.lag.hours:.1f} h ago"
            lines.append(
                f"  semantic lag: {self.lag.snapshots} raw snapshots, {self.lag.rows} rows behind curated ({hours})"
            )
        if self.data_docs_url:
            lines.append(f"  validation page (GX Data Docs): {self.data_docs_url}")
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


def drift_totals(drift: DriftReport) -> str:
    """What drifts in this increment, in numbers (the changes say what is new about it)."""
    return (
        f"{len(drift.new_fields)} fields not in the contract, {len(drift.missing_fields)} contract fields "
        f"missing in some rows, {len(drift.type_mismatches)} with values of another type, "
        f"{drift.malformed_rows} malformed payloads"
    )


def _maintenance_summary(step: str, outcome: MaintenanceStep) -> str:
    if outcome.error is not None:
        return f"{step} FAILED ({outcome.error})"
    counts: dict[str, int] = {}
    for table_result in (outcome.result or {}).values():
        # per table: Iceberg's counts (compaction), or a plan with them under "expired"
        source = table_result.get("expired", table_result) if isinstance(table_result, dict) else {}
        for key, value in source.items():
            if isinstance(value, int) and not isinstance(value, bool) and value:
                counts[key] = counts.get(key, 0) + value
    shown = ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "nothing to do"
    return f"{step} {outcome.seconds:.1f}s ({shown})"
