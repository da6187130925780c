"""Test-only fault injection: ``UNIFIED_JOB_FAIL_AT=<point>`` raises at that point.

Points: before_curated_commit, after_curated_commit, during_validation,
before_semantic_write, between_errors_and_semantic_merge,
after_commits_before_report. Unset in production.
"""

from __future__ import annotations

import os

ENV = "UNIFIED_JOB_FAIL_AT"


class InjectedFault(RuntimeError):
    """Raised where ``UNIFIED_JOB_FAIL_AT`` asks for a failure."""


def maybe_fail(point: str) -> None:
    if os.environ.get(ENV) == point:
        raise InjectedFault(f"injected fault at {point}")
