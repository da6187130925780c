"""Test-only fault injection: ``UNIFIED_JOB_FAIL_AT=<point>`` raises at that point;
``UNIFIED_JOB_FAIL_AT=kill:<point>`` SIGKILLs the whole process group
``UNIFIED_JOB_KILL_DELAY`` seconds (default 1.0) after reaching it, i.e. in the middle of
the write that follows, as a lost EMR worker or ``kill -9`` would. Unset in production.

Points: before_curated_commit, after_curated_commit, during_validation,
before_semantic_write, between_errors_and_semantic_merge, after_commits_before_report; in the
table maintenance after the commits: during_compaction, during_output_expiry, during_raw_expiry.
"""

from __future__ import annotations

import os
import signal
import threading
import time

ENV = "UNIFIED_JOB_FAIL_AT"
KILL_DELAY_ENV = "UNIFIED_JOB_KILL_DELAY"


class InjectedFault(RuntimeError):
    """Raised where ``UNIFIED_JOB_FAIL_AT`` asks for a failure."""


def maybe_fail(point: str) -> None:
    wanted = os.environ.get(ENV)
    if wanted == point:
        raise InjectedFault(f"injected fault at {point}")
    if wanted == f"kill:{point}":
        delay = float(os.environ.get(KILL_DELAY_ENV, "1.0"))
        threading.Thread(target=_kill_group_after, args=(delay,), daemon=True).start()


def _kill_group_after(delay: float) -> None:
    time.sleep(delay)
    os.killpg(os.getpgrp(), signal.SIGKILL)  # the JVM and this driver, no clean-up
