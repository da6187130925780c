"""A layer's typed result, and the run's outcome as a pure function of the mode and the results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from spark_jobs.exceptions import CONFIGURATION_ERRORS, UnifiedJobError
from spark_jobs.interface import Layer, Outcome

LayerStatus = Literal["written", "dry_run", "skipped", "up_to_date", "failed", "not_run"]


@dataclass(frozen=True)
class LayerResult:
    """What one layer's writer did."""

    layer: Layer
    status: LayerStatus
    rows: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    error: UnifiedJobError | None = None
    validation_result: Any = None
    """GX's validation result of the semantic batch (semantic only)."""

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def layer_order(unified: bool) -> tuple[Layer, Layer]:
    """Tiered: curated first, so a semantic failure never holds it back. Unified: semantic
    first, and curated's last commit carries the run's one checkpoint."""
    return ("semantic", "curated") if unified else ("curated", "semantic")


def decide_outcome(order: Sequence[Layer], results: Sequence[LayerResult]) -> Outcome:
    """The run's outcome from its layers' results, in the order they ran.

    The first layer failing stops the run: ``<LAYER>_FAILED``. The second failing: a
    semantic failure after curated is ``CURATED_ONLY`` (tiered), a curated failure after
    semantic is ``CURATED_FAILED`` (unified: the one checkpoint did not move).
    """
    by_layer = {r.layer: r for r in results}
    first, second = order
    if by_layer.get(first) is not None and by_layer[first].failed:
        return "CURATED_FAILED" if first == "curated" else "SEMANTIC_FAILED"
    if by_layer.get(second) is not None and by_layer[second].failed:
        return "CURATED_ONLY" if second == "semantic" else "CURATED_FAILED"
    return "FULL_SUCCESS"


def failure_of(results: Sequence[LayerResult]) -> UnifiedJobError | None:
    """The error that decided the outcome (the first failed layer's)."""
    return next((r.error for r in results if r.failed and r.error is not None), None)


def retryable(error: BaseException | None) -> bool:
    """A configuration error fails the same way on a retry (``exceptions.CONFIGURATION_ERRORS``)."""
    return not isinstance(error, CONFIGURATION_ERRORS)
