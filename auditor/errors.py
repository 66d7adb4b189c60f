"""Errors that end a command with a clear message instead of a traceback.

Each is raised with a message key of ``auditor/messages.toml`` and its parameters
(``UsageError("usage.cannot_read", path=path, why=why)``): ``str(exc)`` is the English text, ``exc.text(lang)`` the
text in ``lang`` (what the command line prints). A text that is not a key is kept as it is (a message already
worded in the reader's language, e.g. with ``i18n.t``)."""

from __future__ import annotations

from typing import Any

from .messages import Text


class UsageError(Exception):
    """Bad command line or configuration: one message on stderr, exit code 2."""

    def __init__(self, key: str, /, **params: Any) -> None:
        self.message = Text(key, **params)
        super().__init__(str(self.message))

    def text(self, lang: str) -> str:
        """The message in ``lang`` (``zh`` or ``en``)."""
        return self.message.text(lang)


class PackError(UsageError):
    """A check pack (catalog, checks, legal clauses) or user-supplied data file is malformed."""
