"""Test-only fault injection: ``UNIFIED_JOB_FAIL_AT=<point>`` raises at that point. Unset in production.

Points: loading_config, planning (before anything is read), before_curated_commit,
after_curated_commit, during_validation, before_semantic_write,
between_errors_and_semantic_merge, ``before_merge:<table>`` (after a validated append,
before the MERGE into that table, as the MERGE statement names it), after_commits_before_report; in the
table maintenance after the commits: during_compaction, during_output_expiry, during_raw_expiry.

``UNIFIED_JOB_FAIL_AT=stop_spark_context`` stops the SparkContext after the parsed
increment is cached (as a driver out of memory or a fatal error in the scheduler
would), so a test sees the run end with its report all the same.

More test-only hooks, inert unless their variables are set:

- a poison event: ``UNIFIED_JOB_POISON_MARKER=<text>`` makes parsing fail (a Spark task
  error) on every payload that contains the text, as a payload Spark cannot parse
  would (``tests/integration/test_poison_events.py``);

- a barrier: ``UNIFIED_JOB_BARRIER_AT=<point>`` makes each run that reaches ``point``
  create ``<pid>.arrived`` in ``UNIFIED_JOB_BARRIER_DIR`` and wait until
  ``UNIFIED_JOB_BARRIER_PARTIES`` (default 2) such files exist, so concurrent runs all
  hold the same state there before any goes on (``tests/integration/test_concurrent_runs.py``);
- a block inside a MERGE: ``UNIFIED_JOB_BLOCK_IN_MERGE=<target table, as in the MERGE
  statement>`` makes the MERGE into that table block on its first source row, once the
  statement runs (its Spark jobs started, nothing committed), after creating the file
  ``UNIFIED_JOB_BLOCK_MARKER``; an outside process then kills it there
  (``tests/integration/test_killed_mid_write.py``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

ENV = "UNIFIED_JOB_FAIL_AT"
BARRIER_ENV = "UNIFIED_JOB_BARRIER_AT"
BARRIER_DIR_ENV = "UNIFIED_JOB_BARRIER_DIR"
BARRIER_PARTIES_ENV = "UNIFIED_JOB_BARRIER_PARTIES"
BARRIER_TIMEOUT_SECONDS = 300.0
POISON_MARKER_ENV = "UNIFIED_JOB_POISON_MARKER"
BLOCK_IN_MERGE_ENV = "UNIFIED_JOB_BLOCK_IN_MERGE"
BLOCK_MARKER_ENV = "UNIFIED_JOB_BLOCK_MARKER"
BLOCK_MAX_SECONDS = 600.0
"""A blocked MERGE gives up after this long (or once ``<marker>.release`` exists), so a
test that never kills it leaves no process behind for ever."""


class InjectedFault(RuntimeError):
    """Raised where ``UNIFIED_JOB_FAIL_AT`` asks for a failure."""


def maybe_fail(point: str) -> None:
    maybe_wait_at_barrier(point)
    wanted = os.environ.get(ENV)
    if wanted == point:
        raise InjectedFault(f"injected fault at {point}")


def maybe_stop_context(spark: object, point: str) -> None:
    """Stop the SparkContext at ``point`` if ``UNIFIED_JOB_FAIL_AT=stop_spark_context`` (module doc)."""
    if os.environ.get(ENV) == "stop_spark_context" and point == "after_parse":
        spark.sparkContext.stop()  # type: ignore[attr-defined]


def poisoned(payload: Column, parsed: Column) -> Column:
    """``parsed``, or a task error where the payload holds ``UNIFIED_JOB_POISON_MARKER`` (module doc)."""
    marker = os.environ.get(POISON_MARKER_ENV)
    if not marker:
        return parsed
    from pyspark.sql import functions as F

    return F.when(payload.contains(marker), F.raise_error(F.lit(f"injected poison event ({marker})"))).otherwise(parsed)


def maybe_wait_at_barrier(point: str) -> None:
    """Wait at ``point`` until every party of the barrier arrived (see the module doc)."""
    if os.environ.get(BARRIER_ENV) != point:
        return
    folder = Path(os.environ[BARRIER_DIR_ENV])
    parties = int(os.environ.get(BARRIER_PARTIES_ENV, "2"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{os.getpid()}.arrived").write_text(point)
    deadline = time.monotonic() + BARRIER_TIMEOUT_SECONDS
    while len(list(folder.glob("*.arrived"))) < parties:
        if time.monotonic() > deadline:
            raise InjectedFault(f"barrier at {point}: fewer than {parties} runs arrived in {folder}")
        time.sleep(0.05)


def maybe_block_merge_source(source: DataFrame, merge_statement: str) -> DataFrame:
    """``source`` itself, unless ``UNIFIED_JOB_BLOCK_IN_MERGE`` names the statement's target.

    Then the rows pass through a filter that, on the first row a Python worker sees,
    creates the marker file and blocks: the MERGE's execution has begun (the source is
    only read by the statement) and cannot finish, so nothing is committed.
    """
    target = os.environ.get(BLOCK_IN_MERGE_ENV)
    if not target or not merge_statement.startswith(f"MERGE INTO {target} "):
        return source
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType

    marker = os.environ[BLOCK_MARKER_ENV]

    def block(_: object) -> bool:  # runs in a Python worker; stdlib only
        import os
        import time

        release = marker + ".release"
        deadline = time.monotonic() + BLOCK_MAX_SECONDS
        with open(marker + f".{os.getpid()}.tmp", "w") as f:
            f.write(str(os.getpid()))
        os.replace(marker + f".{os.getpid()}.tmp", marker)
        while not os.path.exists(release) and time.monotonic() < deadline:
            time.sleep(0.05)
        raise RuntimeError(f"blocked MERGE source released without being killed ({marker})")

    blocker = F.udf(block, BooleanType()).asNondeterministic()
    return source.where(blocker(F.lit(1)))
