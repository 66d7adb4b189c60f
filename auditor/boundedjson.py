"""JSON that someone else wrote, read within stated bounds.

Reports come back to the agent from places others can write: the share ``fleet ingest`` reads, a report handed
to ``auditor report`` or ``auditor verify``, a bundle's members, a SIEM's answer. Python's JSON reader has no
limits of its own: a 60 MB file of ``{}`` takes gigabytes, a deeply nested one exhausts the recursion limit,
a 4,300-digit integer raises, ``NaN`` and ``1e400`` are accepted. Here every bound is checked before the
value can cost anything:

* the size in bytes, before a byte is parsed (the caller opens the file with the same limit);
* the nesting depth and the number of values, by one pass over the bytes that needs no recursion (strings
  and their escapes are told apart from structure first), before ``json.loads`` sees the text;
* integers within the range every JSON reader agrees on (RFC 7493: ±(2^53 - 1)); no NaN or Infinity, no
  float that overflows;
* strings (and keys) no longer than ``max_string`` characters, and no lone surrogates (``"\\ud800"``), which
  no UTF-8 writer accepts.

A value out of bounds raises :class:`OutOfBounds`, a ``ValueError`` whose ``reason`` is one short line that
never quotes the data; ``too_large`` tells a file that is merely bigger than we read (exit 2 territory) from one
that is not JSON as anyone writes it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 32 * MiB
    max_depth: int = 64
    max_values: int = 1_000_000  # containers + separators: what the parsed value costs in memory
    max_string: int = MiB  # characters of one string or key
    max_int: int = 2 ** 53 - 1


REPORT = Limits()  # a JSON report, wherever it comes from (fleet share, report, verify, bundle member)


class OutOfBounds(ValueError):
    """Not read: ``reason`` says why (one line, no data quoted)."""

    def __init__(self, reason: str, too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_large = too_large


# --------------------------------------------------------------------------- the structure pass

_ESCAPE = re.compile(rb"\\[\s\S]")  # a backslash and the byte it escapes
_STRUCTURE = bytes.maketrans(b"{}", b"[]")  # objects and arrays nest alike
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{},"')
_CHUNK = 1 << 22


def structure(data: bytes) -> tuple[int, int]:
    """(deepest nesting, values) of JSON text, without parsing it and without recursion.

    Escapes are removed first (so an escaped quote cannot end a string), then every byte but quotes, brackets
    and commas; a bracket or comma is structure when an even number
    of quotes precedes it. Values are counted as containers + commas + 1, an upper bound of what parsing builds.
    Text that is not JSON gives meaningless counts, which is fine: the parser refuses it afterwards."""
    import numpy as np

    if b"\\" in data:
        if data.count(b"\\") < len(data) >> 6:  # a few escapes: one pass removing each
            data = _ESCAPE.sub(b"", data)
        else:  # many (a crafted file): two passes whose cost does not grow with their number
            data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = np.frombuffer(data.translate(_STRUCTURE, _NOT_STRUCTURE), np.uint8)
    inside = 0  # parity of the quotes before this chunk
    depth = deepest = 0
    values = 1
    for start in range(0, kept.size, _CHUNK):
        part = kept[start:start + _CHUNK]
        quotes = (part == 0x22).view(np.uint8)
        parity = np.bitwise_xor.accumulate(quotes) ^ inside  # 1 inside a string (and on its opening quote)
        inside = int(parity[-1])
        struct = part[(parity | quotes) == 0]
        opens, closes = struct == 0x5B, struct == 0x5D
        n_open, n_close = int(opens.sum()), int(closes.sum())
        values += struct.size - n_close  # containers + commas
        if n_open or n_close:
            run = np.cumsum(opens.view(np.int8) - closes.view(np.int8), dtype=np.int32) + depth
            deepest = max(deepest, int(run.max()))
            depth = int(run[-1])
    return deepest, values


# --------------------------------------------------------------------------- parsing

def _int(limit: int):
    digits = len(str(limit)) + 1  # sign

    def parse(text: str) -> int:
        if len(text) > digits or abs(value := int(text)) > limit:
            raise OutOfBounds(f"an integer beyond ±{limit} (RFC 7493 range)")
        return value
    return parse


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise OutOfBounds("a number too large to represent")
    return value


def _constant(name: str) -> Any:
    raise OutOfBounds(f"{name} is not a JSON number")


def decoder(limits: Limits = REPORT) -> json.JSONDecoder:
    """A JSON decoder that refuses out-of-range numbers, NaN and Infinity (for readers that parse piece by piece;
    call :func:`precheck` on the whole text first and :func:`check_values` on what it returns)."""
    return json.JSONDecoder(parse_int=_int(limits.max_int), parse_float=_float, parse_constant=_constant)


_DECODERS: dict[Limits, json.JSONDecoder] = {}
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def precheck(data: bytes, limits: Limits = REPORT) -> str:
    """The text of ``data`` once its size, encoding, nesting and value count are within bounds."""
    if len(data) > limits.max_bytes:
        raise OutOfBounds(f"too large ({len(data)} bytes; limit {limits.max_bytes})", too_large=True)
    deepest, values = structure(data)
    if deepest > limits.max_depth:
        raise OutOfBounds(f"nested more than {limits.max_depth} levels deep")
    if values > limits.max_values:
        raise OutOfBounds(f"too many values (more than {limits.max_values})", too_large=True)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OutOfBounds("not UTF-8 text") from None


def loads(data: bytes, limits: Limits = REPORT) -> Any:
    """``json.loads`` within ``limits``; :class:`OutOfBounds` (a ValueError) for anything else, with the parser's
    own message for text that is not JSON (``(truncated?)`` when it ends too soon)."""
    text = precheck(data, limits)
    dec = _DECODERS.get(limits) or _DECODERS.setdefault(limits, decoder(limits))
    try:
        value = dec.decode(text)
    except OutOfBounds:
        raise
    except RecursionError:  # cannot happen within max_depth; kept so that it can never become a crash
        raise OutOfBounds("nested too deeply") from None
    except ValueError as exc:
        raise OutOfBounds(not_json(exc)) from None
    check_values(value, limits, surrogates=may_hold_surrogates(data))
    return value


def may_hold_surrogates(data: bytes) -> bool:
    """Whether parsing ``data`` can give a lone surrogate (only a ``\\uD800``-``\\uDFFF`` escape can: strict UTF-8
    decoding refuses them as bytes), so that :func:`check_values` need look for them."""
    return _SURROGATE_ESCAPE.search(data) is not None


def not_json(exc: ValueError) -> str:
    """The reason for text the JSON parser refused (its message names a position, never the data)."""
    msg = str(exc)
    hint = " (truncated?)" if "Expecting" in msg or "Unterminated" in msg else ""
    if isinstance(exc, json.JSONDecodeError):
        msg = f"{exc.msg}: line {exc.lineno} column {exc.colno} (char {exc.pos})"
    return f"not valid JSON{hint}: {msg[:200]}"


def check_values(value: Any, limits: Limits = REPORT, surrogates: bool = True) -> None:
    """Every string and key of a parsed value within ``max_string`` characters, and (with ``surrogates``) none
    holding a lone surrogate. Iterative: no recursion whatever the depth."""
    longest = limits.max_string
    stack = [value]
    pop, push = stack.pop, stack.extend
    while stack:
        v = pop()
        t = type(v)
        if t is dict:
            for k in v:
                if len(k) > longest or (surrogates and not _utf8(k)):
                    raise OutOfBounds(_string_reason(k, longest))
            push(v.values())
        elif t is list:
            push(v)
        elif t is str and (len(v) > longest or (surrogates and not _utf8(v))):
            raise OutOfBounds(_string_reason(v, longest))


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _string_reason(text: str, longest: int) -> str:
    if len(text) > longest:
        return f"a string longer than {longest} characters"
    return "a string holding a lone surrogate (\\ud800-\\udfff), not Unicode text"
