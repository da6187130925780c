"""Find the events that make the shared stages fail, so they can be quarantined and the
run can go on without them (a poison event must not stop its topic).

When structure inference, dedup + parse or drift fails on an increment, the same
stages are run again (``probe``) on slices of it: the rows ordered by a hash of the
whole row (``row_hash``) are halved, and every half that still fails is halved again,
until single rows fail on their own. The run then goes on with every other row, and
those rows land in ``<topic>_errors`` under ``payload:parse_failed`` with the failure's
class and first line, their raw payload in curated's ``_malformed_payload`` for replay.

How a failure of the data is told from one of the platform (a lost executor, storage
down): it is the data's only if the bisection ends on a few rows that fail alone while
the rest passes. If both halves of a failing slice pass, if every slice fails (so more
than ``MAX_ROWS`` rows would be blamed), if the probes run out (``MAX_PROBES``), or if
the SparkContext is gone, it is not the data's: the run fails as before, retryable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.exceptions import UnifiedJobError, first_line

log = logging.getLogger(__name__)

MAX_PROBES = 64
"""Probes per run: about 2 x log2(rows) per poison event (28 for one among 10,000 rows)."""
MAX_ROWS = 20
"""More failing rows than this is not a few poison events: the run fails, retryable."""
RAW_COLUMNS = ("message_id", "idempotency_key", "event_ts", "ingest_ts", "payload")


def row_hash() -> Column:
    """A raw row's identity: Spark's xxhash64 of every raw column (equal rows are one)."""
    return F.xxhash64(*[F.col(c) for c in RAW_COLUMNS])


@dataclass(frozen=True)
class PoisonEvents:
    """Raw rows the shared stages could not process, and why."""

    row_hashes: tuple[int, ...]
    reason: str
    """``parse_failed: <exception class>: <first line>`` (the failure of the whole increment)."""
    message_ids: tuple[str | None, ...]
    probes: int
    seconds: float

    @property
    def rows(self) -> int:
        return len(self.row_hashes)

    def matches(self) -> Column:
        """True on the poison rows of a raw frame."""
        return row_hash().isin(*self.row_hashes)

    def to_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "reason": self.reason,
            "message_ids": list(self.message_ids),
            "probes": self.probes,
            "seconds": self.seconds,
        }


def context_alive(spark: SparkSession) -> bool:
    """False once the SparkContext is stopped (or its JVM is gone): nothing more can run."""
    try:
        return not spark.sparkContext._jsc.sc().isStopped()
    except Exception:  # py4j: the JVM is gone
        return False


class SparkContextStopped(RuntimeError):
    """The SparkContext is gone: what failed next only says so (pyspark: a bare AssertionError)."""

    def __init__(self, seen: BaseException) -> None:
        super().__init__(
            "the SparkContext stopped (the driver log says why: out of memory, a fatal error in the scheduler, "
            f"a kill); the error seen: {type(seen).__name__}: {first_line(seen)}"
        )


def explained(spark: SparkSession, exc: BaseException) -> BaseException:
    """``exc``, or what it means when the SparkContext died under it."""
    return exc if context_alive(spark) else SparkContextStopped(exc)


def reason_of(exc: BaseException) -> str:
    """``parse_failed: <class>: <first line>``; for a Java error its first line names the Java class."""
    line = first_line(exc)
    return (
        f"parse_failed: {line}"
        if getattr(exc, "java_exception", None) is not None
        else (f"parse_failed: {type(exc).__name__}: {line}")
    )


def isolate_poison(
    spark: SparkSession, raw: DataFrame, probe: Callable[[DataFrame], None], cause: BaseException
) -> PoisonEvents | None:
    """The few rows of ``raw`` on which ``probe`` fails alone (module docstring), or None."""
    started = time.perf_counter()
    if isinstance(cause, UnifiedJobError) or not context_alive(spark):
        return None
    hashed = raw.withColumn("_row_hash", row_hash())
    hashes = sorted({int(r[0]) for r in hashed.select("_row_hash").distinct().collect()})
    probes = 0

    def fails(lo: int, hi: int) -> bool:
        """Whether the stages fail on the rows whose hash is hashes[lo:hi]."""
        nonlocal probes
        probes += 1
        subset = hashed.where(F.col("_row_hash").between(hashes[lo], hashes[hi - 1])).drop("_row_hash")
        try:
            probe(subset)
        except UnifiedJobError:
            raise
        except Exception as exc:  # the probe reproduced a failure
            log.info("poison search: rows %d..%d of %d fail (%s)", lo, hi, len(hashes), first_line(exc))
            return True
        return False

    poison: list[int] = []
    failing = [(0, len(hashes))]  # the whole increment failed already
    while failing:
        lo, hi = failing.pop()
        if hi - lo == 1:
            poison.append(hashes[lo])
            if len(poison) > MAX_ROWS:
                return _gave_up(f"more than {MAX_ROWS} rows fail alone")
            continue
        if probes + 2 > MAX_PROBES:
            return _gave_up(f"{MAX_PROBES} probes did not isolate the failing rows")
        if not context_alive(spark):
            return _gave_up("the SparkContext stopped")
        mid = (lo + hi) // 2
        halves = [(a, b) for a, b in ((lo, mid), (mid, hi)) if fails(a, b)]
        if not halves:
            return _gave_up("each half passes alone: the failure is not in single rows")
        failing.extend(halves)
    if not poison:
        return None
    ids = [r[0] for r in hashed.where(F.col("_row_hash").isin(*poison)).select("message_id").collect()]
    seconds = round(time.perf_counter() - started, 3)
    events = PoisonEvents(tuple(poison), reason_of(cause), tuple(ids[:MAX_ROWS]), probes, seconds)
    log.warning(
        "quarantining %d poison events (%s), found in %d probes, %.1f s", events.rows, events.reason, probes, seconds
    )
    return events


def _gave_up(why: str) -> PoisonEvents | None:
    log.warning("poison search gave up: %s; the failure is treated as not the data's (retryable)", why)
    return None
