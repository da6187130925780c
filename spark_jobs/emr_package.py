"""The EMR Serverless code artifacts (``make emr-package``): ``entrypoint.py``, ``spark_jobs.zip``, the UDF jar.

    python -m spark_jobs.emr_package build/emr

EMR runs ``spark-submit --py-files spark_jobs.zip --conf spark.jars=<iceberg>,<udf jar>
entrypoint.py <job args>``; the zip holds the ``spark_jobs`` package (its folder at the
zip's root, without the Java sources and the jar), the entry point and the jar sit next
to it. ``tests/integration/test_emr_package_on_cluster.py`` submits exactly these
files to a standalone Spark cluster. Standard library only.

Not named ``packaging``: ``spark-submit spark_jobs/entrypoint.py`` puts ``spark_jobs/`` first
on ``sys.path``, where a ``packaging.py`` would shadow the ``packaging`` library that GX imports.

Next to ``entrypoint.py`` (the unified job) goes ``forget_entrypoint.py`` (the forget
command, ``spark_jobs.forget``): run with the same zip, jar and Spark parameters.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

from spark_jobs.jvm import JAR_NAME, udf_jar

PACKAGE_DIR = Path(__file__).resolve().parent
ZIP_NAME = "spark_jobs.zip"
ENTRYPOINT_NAME = "entrypoint.py"
FORGET_ENTRYPOINT_NAME = "forget_entrypoint.py"


def package_files(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """Python files of the package to ship, sorted; compiled caches and the JVM build inputs/outputs are left out."""
    return sorted(
        p
        for p in package_dir.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".java", ".jar", ".class"}
    )


def build_emr_package(out_dir: str | Path, package_dir: Path = PACKAGE_DIR) -> tuple[Path, Path, Path]:
    """Write ``entrypoint.py``, ``forget_entrypoint.py``, ``spark_jobs.zip`` and the UDF jar into
    ``out_dir``; return the paths of the job's entry point, the zip and the jar."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    archive = out / ZIP_NAME
    with zipfile.ZipFile(archive, "w") as zf:
        for path in package_files(package_dir):
            zf.write(path, path.relative_to(package_dir.parent).as_posix())
    entrypoint = out / ENTRYPOINT_NAME
    shutil.copyfile(package_dir / ENTRYPOINT_NAME, entrypoint)
    shutil.copyfile(package_dir / FORGET_ENTRYPOINT_NAME, out / FORGET_ENTRYPOINT_NAME)
    jar = out / JAR_NAME
    shutil.copyfile(udf_jar(), jar)
    return entrypoint, archive, jar


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m spark_jobs.emr_package OUT_DIR", file=sys.stderr)
        return 2
    entrypoint, archive, jar = build_emr_package(args[0])
    print(f"wrote {entrypoint}, {entrypoint.parent / FORGET_ENTRYPOINT_NAME}, {archive} and {jar}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
