"""Entry point of dist/auditor.exe: the same `main` as the `auditor` console script."""

import multiprocessing
import sys

from auditor.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a worker of the files area's pool (--jobs) runs its job, not the CLI
    sys.exit(main())
