"""The ``--sign-key`` file: an HMAC key of at least 16 bytes, read as an input from outside (auditor.safeio: a
regular file only, no FIFO, device or user's link; at most 1 MiB). Its bytes are never shown."""

from __future__ import annotations

from pathlib import Path

from .errors import UsageError
from .safeio import read_input

MAX_KEY_FILE = 1 << 20
MIN_KEY = 16


def read_key(path: Path, option: str = "--sign-key") -> bytes:
    key = read_input(path, option, max_size=MAX_KEY_FILE).strip()
    if len(key) < MIN_KEY:
        raise UsageError(f"{option} {path}: key too short (at least {MIN_KEY} bytes)")
    return key
