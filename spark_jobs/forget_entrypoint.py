"""``spark-submit`` entry point of the forget command (EMR Serverless), like ``entrypoint.py`` for the job.

spark-submit puts this file's folder on sys.path, not the repository root; the job's
package arrives either next to it (local) or in ``--py-files`` (EMR Serverless).
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from spark_jobs.forget.command import main
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from spark_jobs.forget.command import main

if __name__ == "__main__":
    sys.exit(main())
