"""DAG parse time of the topic DAG files: the repository's topics and N generated ones.

    python bench/dag_parse.py                 # dags/ + 500 generated local topics + 500 EMR topics
    python bench/dag_parse.py --topics 100 --repeat 3

Each topic is one DAG file (``dags/unified__<topic>.py``), parsed the way the dag-processor
does: ``DagBag.process_file`` per file, in one interpreter where Airflow is already
imported. The dag-processor's manager freezes its heap (``gc.freeze()``) and forks one
process per file, so a file is parsed with nothing of the other files alive; here the
heap is frozen the same way and each file's module and DAG are released before the
next file (``fresh heap``). The folder of EMR topics is also parsed once more the way
this script did before 2026-11-27, every DAG kept alive in one unfrozen heap (``one
heap``), for comparison. The first file of a run also pays the one-off
imports of ``lakehouse_unified`` (and of the Amazon provider for EMR topics); it is
reported separately. Nothing here touches a database, the network or a catalog. Run
with plugins/ on PYTHONPATH (``make`` sets it).

``dags/forget_subject.py``, the one DAG that forgets a person in any topics (not a file per
topic), is parsed on its own in each generated folder, with the N topic files in its
``topics/`` (its ``topics`` param lists their names and reads none of them), after the folders
(``repo dags/``, parsed first, has imported its modules): ``first_s`` and ``steady_s`` are its
first and second parse. It is not counted in the folders' figures, which stay one file per topic.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if "AIRFLOW_HOME" not in os.environ:  # mkdtemp only when needed: no stray empty folders
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="bench-airflow-home-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(REPO / "plugins"))
sys.path.insert(0, str(REPO / "plugins"))

LOCAL_TOPIC = """\
topic: {topic}
schedule: "*/15 * * * *"
runtime: local
"""
EMR_TOPIC = """\
topic: {topic}
schedule: "@hourly"
runtime: emr_serverless
storage:
  catalog_type: glue
  warehouse: s3://lake/warehouse
  contracts_dir: s3://lake/contracts
  expectations_dir: s3://lake/expectations
  run_reports_dir: s3://lake/reports
emr_serverless:
  application_id: 00fkq1example2301
  execution_role_arn: arn:aws:iam::123456789012:role/lakehouse-unified-job
  code_uri: s3://artifacts/unified-job/0.1.0
"""


def parse_folder(folder: Path, *, fresh_heap: bool = True) -> dict[str, object]:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.file import get_unique_dag_module_name

    bag = DagBag(dag_folder=str(folder), collect_dags=False)
    files = sorted(str(p) for p in folder.glob("*.py"))
    durations = []
    dags, import_errors = 0, 0
    if fresh_heap:
        gc.collect()
        gc.freeze()  # as the dag-processor's manager does before it forks its parsers
    try:
        for path in files:
            start = time.perf_counter()
            bag.process_file(path, only_if_updated=False)
            durations.append(time.perf_counter() - start)
            if fresh_heap:  # the next file's process would not hold this file's objects
                dags, import_errors = dags + len(bag.dags), import_errors + len(bag.import_errors)
                bag.dags.clear()
                bag.import_errors.clear()
                sys.modules.pop(get_unique_dag_module_name(path), None)
    finally:
        if fresh_heap:
            gc.unfreeze()
    if not fresh_heap:
        dags, import_errors = len(bag.dags), len(bag.import_errors)
    steady = durations[1:] or durations
    return {
        "files": len(files),
        "dags": dags,
        "import_errors": import_errors,
        "total_s": round(sum(durations), 3),
        "first_file_s": round(durations[0], 3) if durations else 0.0,
        "per_file_mean_ms": round(1000 * statistics.mean(steady), 2) if steady else 0.0,
        "per_file_p95_ms": round(1000 * sorted(steady)[int(0.95 * (len(steady) - 1))], 2) if steady else 0.0,
    }


def parse_forget_dag(dags: Path) -> dict[str, object]:
    """``dags/forget_subject.py`` copied into ``dags`` and parsed twice as ``parse_folder`` parses a file."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.file import get_unique_dag_module_name

    path = dags / "forget_subject.py"
    shutil.copy(REPO / "dags" / "forget_subject.py", path)
    durations: list[float] = []
    dags_found, import_errors, choices = 0, 0, 0
    for _ in range(2):
        bag = DagBag(dag_folder=str(dags), collect_dags=False)
        gc.collect()
        gc.freeze()
        try:
            start = time.perf_counter()
            bag.process_file(str(path), only_if_updated=False)
            durations.append(time.perf_counter() - start)
            dag = bag.dags.get("forget_subject")
            dags_found, import_errors = len(bag.dags), len(bag.import_errors)
            choices = len(dag.params.get_param("topics").schema["items"].get("enum", [])) if dag else 0
            bag.dags.clear()
            sys.modules.pop(get_unique_dag_module_name(str(path)), None)
        finally:
            gc.unfreeze()
    return {
        "dags": dags_found,
        "import_errors": import_errors,
        "topic_choices": choices,
        "first_s": round(durations[0], 4),
        "steady_s": round(durations[1], 4),
    }


def generated(count: int, template: str, root: Path) -> Path:
    from lakehouse_unified.dag_files import sync_loaders

    dags = root / "dags"
    (dags / "topics").mkdir(parents=True)
    for i in range(count):
        topic = f"topic_{i:04d}"
        (dags / "topics" / f"{topic}.yaml").write_text(template.format(topic=topic))
    sync_loaders(dags)
    return dags


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=1, help="parse each folder this many times (best kept)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    import airflow.sdk  # noqa: F401  (what the dag-processor has imported before it parses)
    from airflow.dag_processing.dagbag import DagBag  # noqa: F401

    results: dict[str, object] = {"airflow_import_s": round(time.perf_counter() - start, 3)}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {
            "repo dags/": REPO / "dags",
            f"{args.topics} local topics": generated(args.topics, LOCAL_TOPIC, Path(tmp) / "local"),
            f"{args.topics} emr_serverless topics": generated(args.topics, EMR_TOPIC, Path(tmp) / "emr"),
        }
        for name, folder in folders.items():
            runs = [parse_folder(folder) for _ in range(args.repeat)]
            results[name] = min(runs, key=lambda r: float(r["total_s"]))  # type: ignore[arg-type]
        emr = folders[f"{args.topics} emr_serverless topics"]
        runs = [parse_folder(emr, fresh_heap=False) for _ in range(args.repeat)]
        results[f"{args.topics} emr_serverless topics, one heap"] = min(runs, key=lambda r: float(r["total_s"]))  # type: ignore[arg-type]
        for kind in ("local", "emr_serverless"):  # after the folders: their figures stay one file per topic
            results[f"forget_subject.py, {args.topics} {kind} topics"] = parse_forget_dag(
                folders[f"{args.topics} {kind} topics"]
            )
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
