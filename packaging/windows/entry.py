"""Entry point of dist/auditor.exe: the same `main` as the `auditor` console script."""

import sys

from auditor.cli import main

if __name__ == "__main__":
    sys.exit(main())
