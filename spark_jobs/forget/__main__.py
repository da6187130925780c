"""``python -m spark_jobs.forget``: see ``spark_jobs.forget.command``."""

import sys

from spark_jobs.forget.command import main

sys.exit(main())
