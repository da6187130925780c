"""``spark-submit spark_jobs/entrypoint.py`` puts ``spark_jobs/`` first on ``sys.path``: a
module there named like an installed library (``packaging.py`` once did it to the
``packaging`` that Great Expectations imports) breaks every spark-submit run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SPARK_JOBS = Path(__file__).resolve().parents[2] / "spark_jobs"


def test_no_module_next_to_the_entrypoint_shadows_an_installed_library() -> None:
    assert str(SPARK_JOBS) not in sys.path  # so find_spec below sees only the real libraries
    modules = sorted(p.stem for p in SPARK_JOBS.glob("*.py") if p.stem != "__init__")
    shadowing = [m for m in modules if m in sys.stdlib_module_names or importlib.util.find_spec(m) is not None]
    assert not shadowing, f"spark_jobs/ modules named like a standard or installed module: {shadowing}"
