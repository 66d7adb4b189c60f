"""Canonical JSON: the exact bytes a digest or a signature is computed over.

``jcs`` is the JSON Canonicalization Scheme of RFC 8785, which any other tool can reproduce: object members sorted
by the UTF-16 code units of their names, no whitespace, strings with only ``"``, ``\\`` and U+0000-U+001F escaped
(``\\b \\t \\n \\f \\r`` in short form, the rest as ``\\u00xx``), numbers as ECMAScript writes them (``1.0`` is
``1``, ``1e21`` is ``1e+21``, ``0.000001``), UTF-8. A value JCS cannot express (NaN, an infinity, an integer
beyond ±(2^53-1), a lone surrogate, a key that is not a string) is a ``ValueError``.

``legacy`` is what reports were sealed with before (Python's ``json.dumps`` with sorted keys, compact separators,
``ensure_ascii=False``): kept so that they still verify.

Both also come as text (``*_text``) so that callers can put an object together member by member (the canonical
form of an object is ``{`` + its members in canonical order, joined by ``,`` + ``}``): see ``member_order``."""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring as _quoted  # C accelerated; the escaping RFC 8785 asks for
from typing import Any, Iterable

MAX_SAFE_INTEGER = 2 ** 53 - 1
_LEGACY = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def legacy_text(value: Any) -> str:
    return _LEGACY.encode(value)


def legacy(value: Any) -> bytes:
    return legacy_text(value).encode("utf-8")


def jcs(value: Any) -> bytes:
    try:
        return jcs_text(value).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone surrogate: not expressible in RFC 8785 JSON") from None


def jcs_text(value: Any) -> str:
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def string(text: str) -> str:
    """A string in canonical JSON (the same in both forms)."""
    return _quoted(text)


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def member_order(keys: Iterable[str]) -> list[str]:
    """Object member names in RFC 8785 order (UTF-16 code units; the same as code point order unless a name holds
    a character above U+D7FF)."""
    ordered = sorted(keys)
    if any(k and max(k) >= "\ud800" for k in ordered):
        ordered.sort(key=_utf16)
    return ordered


def number(value: float) -> str:
    """A float as ECMAScript's Number.prototype.toString writes it (RFC 8785 3.2.2.3)."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not expressible in JSON")
    if value == 0:
        return "0"
    text = repr(value)  # the shortest digits that read back as the same double, as ECMAScript picks them
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    if "e" not in text:
        return sign + (text[:-2] if text.endswith(".0") else text)
    mantissa, exp = text.split("e")
    e = int(exp)
    digits = mantissa.replace(".", "")
    if 0 < e < 21:  # Python writes 1e+16 and above with an exponent, ECMAScript only from 1e21
        return sign + digits + "0" * (e + 1 - len(digits))
    if -7 < e < 0:  # Python writes 1e-05, ECMAScript 0.00001 down to 1e-7
        return sign + "0." + "0" * (-e - 1) + digits
    return f"{sign}{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"


def _write(value: Any, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(_quoted(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        if any(type(key) is not str for key in value):
            raise ValueError("an object member name is not a string")
        sep = "{"
        for key in member_order(value):
            out.append(sep)
            out.append(_quoted(key))
            out.append(":")
            _write(value[key], out)
            sep = ","
        out.append("}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        sep = "["
        for item in value:
            out.append(sep)
            _write(item, out)
            sep = ","
        out.append("]")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise ValueError(f"the integer {value} is beyond ±(2^53-1): not expressible in RFC 8785 JSON")
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(number(float(value)))
    elif isinstance(value, str):
        out.append(_quoted(str(value)))
    elif isinstance(value, dict):
        _write(dict(value), out)
    else:
        raise ValueError(f"a {type(value).__name__} is not a JSON value")
