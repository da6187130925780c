"""Benchmark 4: DAG parse time for few and many topics, from bench/dag_parse.py.

    python -m bench.dag_parse_scaling --sizes small|full

Runs ``bench/dag_parse.py --topics N`` (unchanged) once per repeat and topic count, each
in a fresh interpreter, so every measurement pays the one-off imports the way a
dag-processor does, and puts its figures into the common result format. Each run
parses N local topics and N EMR Serverless topics (one DAG file each); the headline
uses the slower of the two. Targets: the many-topic folder (500) parses in < 2 s, and the
per-file time stays constant: mean per file at 500 within 1.5 x of that at 10 (the
issue says "constant per topic"; 1.5 x is this benchmark's tolerance for it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.common import (
    REPO,
    BenchmarkError,
    BenchResult,
    Check,
    Sizes,
    Stats,
    Table,
    Target,
    bench_parser,
    configure_process,
    fmt,
    log,
    paired_ratios,
    repo_env,
    results_dir_for,
    stopwatch,
)

NAME = "dag_parse_scaling"
KINDS = ("local", "emr_serverless")
TARGET = Target(
    "the many-topic folder parses in < 2 s; per-file time at many topics <= 1.5 x at few",
    (Check("figure", "<", 2.0), Check("ratio", "<=", 1.5)),
)


@dataclass(frozen=True)
class Params:
    few: int
    many: int


PARAMS: dict[Sizes, Params] = {"small": Params(few=10, many=50), "full": Params(few=10, many=500)}


@dataclass(frozen=True)
class FolderParse:
    """One folder's figures from ``bench/dag_parse.py``."""

    files: int
    dags: int
    import_errors: int
    total_s: float
    first_file_s: float
    per_file_mean_ms: float

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> FolderParse:
        return cls(
            int(doc["files"]),
            int(doc["dags"]),
            int(doc["import_errors"]),
            float(doc["total_s"]),
            float(doc["first_file_s"]),
            float(doc["per_file_mean_ms"]),
        )


def parse_topics(topics: int) -> dict[str, Any]:
    """Run ``bench/dag_parse.py --topics <topics>`` in a fresh interpreter; its JSON."""
    with tempfile.TemporaryDirectory(prefix="bench-airflow-home-") as airflow_home:
        done = subprocess.run(
            [sys.executable, str(REPO / "bench" / "dag_parse.py"), "--topics", str(topics)],
            cwd=REPO,
            env={**repo_env(), "AIRFLOW_HOME": airflow_home},
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise BenchmarkError(f"bench/dag_parse.py --topics {topics} failed ({done.returncode}): {done.stderr[-2000:]}")
    start = done.stdout.find("{")
    if start < 0:
        raise BenchmarkError(f"bench/dag_parse.py --topics {topics} printed no JSON: {done.stdout[-2000:]}")
    doc: dict[str, Any] = json.loads(done.stdout[start:])
    return doc


def folder_figures(doc: dict[str, Any], topics: int, kind: str) -> FolderParse:
    folder = FolderParse.from_json(doc[f"{topics} {kind} topics"])
    if folder.import_errors or folder.dags != topics or folder.files != topics:
        raise BenchmarkError(
            f"{topics} {kind} topics: {folder.files} files, {folder.dags} DAGs, {folder.import_errors} import errors"
        )
    return folder


def run_dag_parse_scaling(params: Params, sizes: Sizes, repeat: int) -> BenchResult:
    if params.few >= params.many or params.few < 2:
        raise ValueError(f"need 2 <= few < many, got few={params.few} many={params.many}")
    parses: dict[tuple[str, int], list[FolderParse]] = {(k, n): [] for k in KINDS for n in (params.few, params.many)}
    repo_dags: list[float] = []
    airflow_import: list[float] = []
    forget_dag: dict[int, list[float]] = {params.few: [], params.many: []}
    one_heap: dict[int, list[FolderParse]] = {params.few: [], params.many: []}
    for index in range(repeat):
        counts = (params.few, params.many) if index % 2 == 0 else (params.many, params.few)
        for topics in counts:
            with stopwatch() as elapsed:
                doc = parse_topics(topics)
            log.info("dag_parse.py --topics %d: %.1f s", topics, elapsed[0])
            for kind in KINDS:
                parses[(kind, topics)].append(folder_figures(doc, topics, kind))
            one_heap[topics].append(FolderParse.from_json(doc[f"{topics} emr_serverless topics, one heap"]))
            repo_dags.append(float(doc["repo dags/"]["total_s"]))
            forget_dag[topics].append(float(doc[f"forget_subject.py, {topics} local topics"]["steady_s"]))
            airflow_import.append(float(doc["airflow_import_s"]))

    totals = {key: Stats.of(p.total_s for p in runs) for key, runs in parses.items()}
    per_file = {key: Stats.of(p.per_file_mean_ms for p in runs) for key, runs in parses.items()}
    slow = max(KINDS, key=lambda k: totals[(k, params.many)].median)
    ratios = {
        kind: paired_ratios(
            [p.per_file_mean_ms for p in parses[(kind, params.many)]],
            [p.per_file_mean_ms for p in parses[(kind, params.few)]],
        )
        for kind in KINDS
    }
    worst_ratio = max(KINDS, key=lambda k: ratios[k].median)
    rows = tuple(
        (
            f"{topics} {kind}",
            fmt(totals[(kind, topics)].median),
            fmt(Stats.of(p.first_file_s for p in parses[(kind, topics)]).median),
            fmt(per_file[(kind, topics)].median),
            f"{totals[(kind, topics)].spread_pct:.0f}%",
        )
        for kind in KINDS
        for topics in (params.few, params.many)
    )
    return BenchResult(
        name=NAME,
        title="DAG files parse time: few vs many topics (bench/dag_parse.py)",
        figure=totals[(slow, params.many)],
        figure_label=f"parse {params.many} {slow} topic files",
        unit="s",
        baseline=totals[(slow, params.few)],
        baseline_label=f"parse {params.few} {slow} topic files",
        ratio=ratios[worst_ratio],
        ratio_label=f"per-file time {params.many} / {params.few} ({worst_ratio})",
        target=TARGET,
        rows=params.many,
        rows_label="topics (DAG files per folder)",
        sizes=sizes,
        repeat=repeat,
        details={
            "params": vars(params),
            "total_s": {f"{n} {k}": totals[(k, n)].to_dict() for k, n in parses},
            "per_file_mean_ms": {f"{n} {k}": per_file[(k, n)].to_dict() for k, n in parses},
            "per_file_ratio": {kind: ratios[kind].to_dict() for kind in KINDS},
            "repo_dags_total_s": Stats.of(repo_dags).to_dict(),
            "airflow_import_s": Stats.of(airflow_import).to_dict(),
            "forget_subject_dag_s": {
                "note": "dags/forget_subject.py (one DAG for every topic) parsed alone with N local topic files",
                **{str(n): Stats.of(times).to_dict() for n, times in forget_dag.items()},
            },
            "one_heap_emr_serverless": {
                "note": "the same EMR folders parsed with every DAG kept alive in one heap (the pre-2026-11-27 method)",
                "total_s": {str(n): Stats.of(p.total_s for p in runs).to_dict() for n, runs in one_heap.items()},
                "per_file_mean_ms": {
                    str(n): Stats.of(p.per_file_mean_ms for p in runs).to_dict() for n, runs in one_heap.items()
                },
            },
            "method": (
                "bench/dag_parse.py in a fresh interpreter per measurement; heap frozen, each file's DAG released "
                "before the next (as the dag-processor's one process per file); total_s includes the first file"
            ),
        },
        tables=[
            Table(
                "per folder (medians)",
                ("folder", "total s", "first file s", "per file ms", "spread"),
                rows,
            )
        ],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = bench_parser((__doc__ or NAME).splitlines()[0], spark_options=False)
    parser.add_argument("--few", type=int, help="topics in the small folder (default 10)")
    parser.add_argument("--many", type=int, help="topics in the large folder (default 50 small / 500 full)")
    args = parser.parse_args(argv)
    configure_process()
    defaults = PARAMS[args.sizes]
    params = Params(few=args.few or defaults.few, many=args.many or defaults.many)
    result = run_dag_parse_scaling(params, args.sizes, args.repeat)
    path = result.write(results_dir_for(args.results_dir, args.sizes))
    print(result.render(), flush=True)
    print(f"wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
