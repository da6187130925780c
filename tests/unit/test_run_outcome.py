"""The run's outcome: a pure function of the mode's layer order and the layers' results."""

from __future__ import annotations

import pytest

from spark_jobs.exceptions import ContractError, LayerWriteError
from spark_jobs.run.outcome import LayerResult, decide_outcome, failure_of, layer_order, retryable

OK, FAIL = "written", "failed"


def _results(order: tuple[str, str], statuses: tuple[str, ...]) -> list[LayerResult]:
    return [LayerResult(layer, status) for layer, status in zip(order, statuses, strict=False)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("unified", "statuses", "expected"),
    [
        (False, (OK, OK), "FULL_SUCCESS"),
        (False, (OK, "skipped"), "FULL_SUCCESS"),  # a curated-only run (no usable schema)
        (False, ("up_to_date", OK), "FULL_SUCCESS"),  # semantic catching up
        (False, (FAIL,), "CURATED_FAILED"),  # curated first: semantic never ran
        (False, (OK, FAIL), "CURATED_ONLY"),  # a semantic failure never holds curated back
        (True, (OK, OK), "FULL_SUCCESS"),
        (True, (FAIL,), "SEMANTIC_FAILED"),  # semantic first: nothing written, both retry
        (True, (OK, FAIL), "CURATED_FAILED"),  # the one checkpoint did not move
        (False, (OK, "dry_run"), "FULL_SUCCESS"),
    ],
)
def test_outcome_by_mode_and_results(unified: bool, statuses: tuple[str, ...], expected: str) -> None:
    order = layer_order(unified)
    assert order == (("semantic", "curated") if unified else ("curated", "semantic"))
    assert decide_outcome(order, _results(order, statuses)) == expected


def test_the_failure_and_whether_a_retry_can_help() -> None:
    contract = ContractError("contracts/orders.yaml", "bad")
    write = LayerWriteError("orders", "semantic", "semantic_db.orders", RuntimeError("disk full"))
    results = [LayerResult("curated", "written"), LayerResult("semantic", "failed", error=contract)]
    assert failure_of(results) is contract and not retryable(contract) and retryable(write)
    assert failure_of([LayerResult("curated", "written")]) is None
