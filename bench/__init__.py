"""Benchmarks of the unified job (issue 5): ``python -m bench.run_all --sizes small|full``.

See docs/BENCHMARKS.md. Shared code lives in ``bench.common``.
"""
