"""The parser class every command's arguments are read with: one clear line and exit 2 for a usage error. Apart
from ``commands.options`` so that the command line can be built before any command's module is imported."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..messages import Worded


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, exit 2, no usage dump
        # argparse words its messages in English: shown in the reader's language where the catalog knows them
        raise UsageError("usage.argparse", prog=self.prog, message=Worded(message))
