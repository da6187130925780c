"""The job's run report -> what ``publish_outcome`` does (pure).

| outcome          | task          | alert |
|------------------|---------------|-------|
| FULL_SUCCESS     | success       | no    |
| CURATED_ONLY     | success       | yes: semantic is stale, curated is fresh |
| NO_NEW_DATA      | skipped       | no    |
| CURATED_FAILED   | failed        | yes (task failure callback) |
| SEMANTIC_FAILED  | failed        | yes (task failure callback) |
| FAILED_BEFORE_WRITE | failed     | yes (task failure callback): nothing was written |
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lakehouse_unified.exceptions import RunReportError
from spark_jobs.interface import OUTCOMES, Outcome

__all__ = ["OUTCOMES", "Outcome", "OutcomeDecision", "decide_outcome", "parse_report", "report_counts"]

Action = Literal["succeed", "succeed_and_alert", "skip", "fail"]

OUTCOME_KEY = "outcome"
COUNTS_KEY = "counts"
"""XCom keys of ``publish_outcome``: every DAG run that gets past planning ends with both."""
NO_NEW_DATA_KEY = "no_new_data"
"""XCom key of ``wait_for_new_snapshot``: why the run ended NO_NEW_DATA (no job ran)."""
SCHEMA_PROBLEM_KEY = "schema_problem"
"""XCom key of ``check_schema_exists``: why the topic has no usable contract/suite (the run
then writes curated only)."""

_ACTIONS: dict[str, Action] = {
    "FULL_SUCCESS": "succeed",
    "CURATED_ONLY": "succeed_and_alert",
    "NO_NEW_DATA": "skip",
    "CURATED_FAILED": "fail",
    "SEMANTIC_FAILED": "fail",
    "FAILED_BEFORE_WRITE": "fail",
}


@dataclass(frozen=True)
class OutcomeDecision:
    outcome: Outcome
    action: Action
    message: str
    counts: dict[str, Any] = field(default_factory=dict)


def parse_report(text: str, source: str) -> dict[str, Any]:
    """Parse and sanity-check a run report; :class:`RunReportError` names the file."""
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunReportError(f"{source}: run report is not valid JSON: {exc}") from exc
    if not isinstance(report, dict):
        raise RunReportError(f"{source}: run report must be a JSON object")
    if report.get("outcome") not in OUTCOMES:
        raise RunReportError(
            f"{source}: run report outcome must be one of {list(OUTCOMES)}, got {report.get('outcome')!r}"
        )
    return report


def report_counts(report: Mapping[str, Any]) -> dict[str, Any]:
    """The counts worth an XCom: rows read/kept, rows per layer, drift sizes, checkpoints."""
    raw = _mapping(report.get("raw"))
    dedup = _mapping(report.get("dedup"))
    drift = _mapping(report.get("drift"))
    curated = _mapping(report.get("curated"))
    semantic = _mapping(report.get("semantic"))
    lag = _mapping(report.get("semantic_lag"))
    changes = [_mapping(c) for c in drift.get("changes") or []]
    poison = _mapping(raw.get("poison_events"))
    return {
        "rows_read": raw.get("rows_read", 0),
        "backlog_rows": raw.get("backlog_rows", 0),
        "rows_out": dedup.get("rows_out", 0),
        "poison_events": poison.get("rows", 0),
        "poison_message_ids": list(poison.get("message_ids") or []),
        "poison_reason": poison.get("reason"),
        "network_duplicates": dedup.get("network_duplicates", 0),
        "superseded_versions": dedup.get("superseded_versions", 0),
        "reused_message_ids": dedup.get("reused_message_ids", 0),
        "event_ts_in_future": dedup.get("event_ts_in_future", 0),
        "curated_status": curated.get("status"),
        "curated_rows": curated.get("rows", 0),
        "semantic_status": semantic.get("status"),
        "semantic_rows_valid": semantic.get("rows_valid", 0),
        "semantic_rows_errors": semantic.get("rows_errors", 0),
        "drift_new_fields": len(drift.get("new_fields") or []),
        "drift_missing_fields": len(drift.get("missing_fields") or []),
        "drift_type_mismatches": len(drift.get("type_mismatches") or []),
        "drift_folded_objects": len(drift.get("folded_objects") or []),
        "drift_overflow_fields": _mapping(drift.get("overflow")).get("fields", 0),
        "drift_deep_values": _mapping(drift.get("deep_values")).get("rows", 0),
        "from_snapshot_exclusive": _id_text(raw.get("from_snapshot_exclusive")),
        "to_snapshot_inclusive": _id_text(raw.get("to_snapshot_inclusive")),
        "curated_checkpoint_after": _id_text(curated.get("checkpoint_after")),
        "semantic_checkpoint_after": _id_text(semantic.get("checkpoint_after")),
        "maintenance_errors": _maintenance_errors(report),
        "semantic_lag_snapshots": lag.get("snapshots", 0),
        "semantic_lag_rows": lag.get("rows", 0),
        "semantic_lag_hours": lag.get("hours", 0.0),
        "drift_changes": len(changes),
        "drift_alerts": [str(c.get("text")) for c in changes if c.get("alerts")],
        "data_docs_url": report.get("data_docs"),
        **{f"replay_{name}": value for name, value in _mapping(report.get("replay")).items()},
    }


def decide_outcome(report: Mapping[str, Any]) -> OutcomeDecision:
    """Map a parsed report to the task's result and message (the reason when there is one)."""
    outcome: Outcome = report["outcome"]
    topic = report.get("topic", "?")
    reason = report.get("reason") or _layer_error(report)
    counts = report_counts(report)
    if outcome == "FULL_SUCCESS" and counts.get("replay_replayed") is not None:
        message = (
            f"topic {topic}: quarantine replayed: {counts['replay_replayed']} versions re-judged, "
            f"{counts.get('replay_healed', 0)} healed to semantic, {counts.get('replay_still_failing', 0)} still "
            f"failing, {counts.get('replay_not_in_raw', 0)} no longer in raw, "
            f"{counts.get('replay_not_replayable', 0)} envelope errors (not replayable)"
        )
    elif outcome == "FULL_SUCCESS":
        message = (
            f"topic {topic}: FULL_SUCCESS: {counts['rows_read']} raw rows read, {counts['curated_rows']} curated, "
            f"{counts['semantic_rows_valid']} semantic valid, {counts['semantic_rows_errors']} to errors"
        )
        if counts["poison_events"]:
            message += f"; {poison_text(topic, counts)}"
    elif outcome == "CURATED_ONLY":
        message = (
            f"topic {topic}: CURATED_ONLY: curated is up to date but the semantic layer was not written "
            f"and will be retried next run; reason: {reason or 'not given'}"
        )
        if counts["semantic_lag_snapshots"]:
            message += f"; {lag_text(counts)}"
    elif outcome == "NO_NEW_DATA":
        message = f"topic {topic}: NO_NEW_DATA: no raw snapshot after the checkpoints"
    else:
        message = f"topic {topic}: {outcome}: {reason or 'no reason in the report (see the job log)'}"
    if counts["data_docs_url"]:
        message += f"; validation page: {counts['data_docs_url']}"
    if counts["maintenance_errors"]:
        failed = "; ".join(f"{step}: {error}" for step, error in counts["maintenance_errors"].items())
        message += f"; table maintenance failed (data committed, retried next run): {failed}"
    return OutcomeDecision(outcome=outcome, action=_ACTIONS[outcome], message=message, counts=counts)


def poison_text(topic: str, counts: Mapping[str, Any]) -> str:
    """The events a run quarantined because the job could not process them, in words."""
    ids = ", ".join(str(i) for i in counts.get("poison_message_ids") or [])
    return (
        f"{counts['poison_events']} events of topic {topic} could not be processed and were quarantined in the "
        f"errors table (payload:parse_failed; message ids: {ids or 'none'}): {counts.get('poison_reason')}"
    )


def lag_text(counts: Mapping[str, Any]) -> str:
    """How far semantic is behind curated, in words."""
    hours = counts.get("semantic_lag_hours")
    since = "it never advanced" if hours is None else f"it last advanced {float(hours):.1f} h ago"
    return (
        f"semantic is {counts['semantic_lag_snapshots']} raw snapshots ({counts['semantic_lag_rows']} rows) "
        f"behind curated; {since}"
    )


def lag_alert(counts: Mapping[str, Any], threshold_hours: int | None) -> str | None:
    """The lag alert's text when semantic has been behind for ``threshold_hours`` or more."""
    hours = counts.get("semantic_lag_hours")
    if threshold_hours is None or not counts.get("semantic_lag_snapshots") or hours is None:
        return None
    if float(hours) < threshold_hours:
        return None
    return f"{lag_text(counts)} (alert threshold {threshold_hours} h)"


def no_new_data_decision(topic: str, why: str, plan: Mapping[str, Any] | None) -> OutcomeDecision:
    """NO_NEW_DATA decided before the job (sensor timeout, a backfill interval without a
    raw commit): the same counts as a report's, zero rows, the checkpoints unchanged."""
    plan = _mapping(plan)
    start = plan.get("from_snapshot_exclusive") or plan.get("curated_checkpoint")
    report = {
        "raw": {"from_snapshot_exclusive": start, "to_snapshot_inclusive": start},
        "curated": {"status": "not_run", "checkpoint_after": plan.get("curated_checkpoint")},
        "semantic": {"status": "not_run", "checkpoint_after": plan.get("semantic_checkpoint")},
    }
    return OutcomeDecision("NO_NEW_DATA", "skip", why or f"topic {topic}: NO_NEW_DATA", report_counts(report))


def without_schema(decision: OutcomeDecision, problem: str) -> OutcomeDecision:
    """The job ran curated only because the topic has no usable schema: a FULL_SUCCESS of
    that one layer is CURATED_ONLY for the topic (semantic not written, checkpoint kept).
    Not alerted here: ``no_schema`` alerts once per problem."""
    if decision.outcome != "FULL_SUCCESS":
        return decision
    message = (
        f"{decision.message.replace('FULL_SUCCESS', 'CURATED_ONLY', 1)}; semantic not written "
        f"(its checkpoint kept) because the topic has no usable schema: {problem}"
    )
    return OutcomeDecision("CURATED_ONLY", "succeed", message, decision.counts)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _layer_error(report: Mapping[str, Any]) -> str | None:
    for layer in ("curated", "semantic"):
        error = _mapping(report.get(layer)).get("error")
        if error:
            return f"{layer}: {error}"
    return None


def _maintenance_errors(report: Mapping[str, Any]) -> dict[str, str]:
    """Maintenance steps that failed, with their error (the run's outcome stands)."""
    steps = _mapping(report.get("maintenance"))
    return {
        str(step): str(_mapping(result)["error"]) for step, result in steps.items() if _mapping(result).get("error")
    }


def _id_text(value: Any) -> str | None:
    return None if value is None else str(value)
