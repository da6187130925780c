"""Run every benchmark, each in its own process and warehouse, then print a summary.

    python -m bench.run_all --sizes small     # tiny sizes: checks the scripts, not evidence
    python -m bench.run_all --sizes full      # the issue's sizes (hours on 2 cores)
    python -m bench.run_all --sizes full --only unified_vs_parallel --only distance_to_limit

Results: ``bench/results/<name>.json`` (``--sizes full``) or ``bench/results/small/``.
The exit code is non-zero when a benchmark failed to run, not when it missed its target.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.common import (
    REPO,
    bench_parser,
    fmt,
    format_table,
    repo_env,
    results_dir_for,
    stopwatch,
)

BENCHMARKS = (
    "unified_vs_parallel",
    "distance_to_limit",
    "suite_size",
    "increment_vs_history",
    "increment_after_runs",
    "dag_parse_scaling",
    "throughput_memory",
    "wide_payload",
    "event_guards",
    "hostile_events",
    "small_increment",
    "forget_cost",
)
"""Module ``bench.<name>`` writes ``<name>.json``; cheap and most-asked-for first."""
SPARK_FREE = {"dag_parse_scaling"}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = bench_parser((__doc__ or "").splitlines()[0])
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only these (repeatable)")
    return parser.parse_args(argv)


def command(name: str, args: argparse.Namespace, results_dir: Path) -> list[str]:
    cmd = [sys.executable, "-m", f"bench.{name}", "--sizes", args.sizes, "--repeat", str(args.repeat)]
    cmd += ["--results-dir", str(results_dir)]
    if name in SPARK_FREE:
        return cmd
    if args.work_dir is not None:
        cmd += ["--work-dir", str(args.work_dir)]
    for flag in ("keep_work_dir", "no_warmup"):
        if getattr(args, flag):
            cmd.append("--" + flag.replace("_", "-"))
    return cmd


def summary(names: Sequence[str], results_dir: Path, walls: dict[str, float], failed: set[str]) -> str:
    rows = []
    for name in names:
        path = results_dir / f"{name}.json"
        if name in failed or not path.is_file():
            rows.append((name, "FAILED", "-", "-", "-", "-", fmt(walls.get(name))))
            continue
        doc = json.loads(path.read_text())
        rows.append(
            (
                name,
                f"{fmt(doc['figure'])} {doc['unit']}",
                f"{fmt(doc['baseline_figure'])} {doc['unit']}",
                fmt(doc["ratio"]),
                doc["target"]["text"],
                "MET" if doc["meets_target"] else "MISSED",
                fmt(walls.get(name)),
            )
        )
    return format_table(("benchmark", "figure", "baseline", "ratio", "target", "result", "bench s"), rows)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n for n in BENCHMARKS if not args.only or n in args.only]
    results_dir = results_dir_for(args.results_dir, args.sizes).resolve()
    walls: dict[str, float] = {}
    failed: set[str] = set()
    for name in names:
        print(f"\n##### {name} (--sizes {args.sizes})", flush=True)
        with stopwatch() as elapsed:
            done = subprocess.run(command(name, args, results_dir), cwd=REPO, env=repo_env(), check=False)
        walls[name] = elapsed[0]
        if done.returncode != 0:
            failed.add(name)
            print(f"##### {name} failed with exit code {done.returncode}", flush=True)
    note = "" if args.sizes == "full" else "   [smoke size: not evidence]"
    print(f"\n##### summary ({results_dir}){note}", flush=True)
    print(summary(names, results_dir, walls, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
