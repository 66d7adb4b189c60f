"""Errors that end a command with a clear message instead of a traceback."""


class UsageError(Exception):
    """Bad command line or configuration: one message on stderr, exit code 2."""


class PackError(UsageError):
    """A check pack (catalog, checks, legal clauses) or user-supplied data file is malformed."""
