"""What a formula cell of a workbook holds, for masking: a mobile typed as ``="138…"``, built with ``&`` or
CONCATENATE, or kept as ``TEXT(138…,"0")`` is personal data like any other cell.

:func:`evaluate` works out the value of a formula made of constants only: text and numbers, ``&``,
CONCATENATE/CONCAT, TEXT with a digits-only format, T, TRIM, VALUE, signs and parentheses. A formula that
refers to cells or uses anything else has no value here (None); :func:`literals` then lists the constants
written in it, so a check can still see a number hidden inside."""

from __future__ import annotations

import re
from typing import Union

from ..tabular import cell_text

MAX_FORMULA = 8192  # Excel's own limit on a formula's length
MAX_NESTING = 64
MAX_DIGITS = 40
Value = Union[str, int, float]


class _Unknown(Exception):
    pass


def formula_of(value: object) -> str | None:
    """The formula text of an openpyxl cell value (a string formula or an array formula)."""
    if isinstance(value, str):
        return value if value.startswith("=") else None
    text = getattr(value, "text", None)  # openpyxl ArrayFormula
    return text if isinstance(text, str) else None


def _tokens(formula: str) -> list:
    from openpyxl.formula import Tokenizer

    tok = Tokenizer(formula if formula.startswith("=") else "=" + formula)
    return [t for t in tok.items if t.type != "WHITE-SPACE"]


def _text(v: Value) -> str:
    if isinstance(v, int):
        return str(v)
    return v if isinstance(v, str) else cell_text(v)


def _number(v: Value) -> int | float:
    """A number; written digits stay an exact integer (a mobile or ID number typed as a number keeps its
    digits in the formula, whatever Excel would round it to)."""
    if not isinstance(v, str):
        return v
    text = v.strip().replace(",", "")
    if re.fullmatch(r"[+-]?\d{1,%d}" % MAX_DIGITS, text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        raise _Unknown from None


def _unquote(raw: str) -> str:
    return raw[1:-1].replace('""', '"')


def _text_format(v: Value, fmt: Value) -> str:
    fmt = _text(fmt)
    if fmt == "@":
        return _text(v)
    if not re.fullmatch(r"[0#]+", fmt):
        raise _Unknown
    n = _number(v)
    if isinstance(n, float):
        if not n.is_integer():
            raise _Unknown
        n = int(n)
    return str(n).zfill(fmt.count("0"))


_FUNCTIONS = {
    "CONCATENATE": lambda args: "".join(_text(a) for a in args),
    "CONCAT": lambda args: "".join(_text(a) for a in args),
    "TEXT": lambda args: _text_format(*args) if len(args) == 2 else _unknown(),
    "T": lambda args: (args[0] if isinstance(args[0], str) else "") if len(args) == 1 else _unknown(),
    "TRIM": lambda args: " ".join(_text(args[0]).split()) if len(args) == 1 else _unknown(),
    "VALUE": lambda args: _number(args[0]) if len(args) == 1 else _unknown(),
}


def _unknown():
    raise _Unknown


class _Parser:
    def __init__(self, tokens: list) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self):
        tok = self.peek()
        if tok is None:
            raise _Unknown
        self.pos += 1
        return tok

    def expr(self) -> Value:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _Unknown
        left = self.unary()
        while (tok := self.peek()) is not None and tok.type == "OPERATOR-INFIX":
            if tok.value != "&":
                raise _Unknown
            self.take()
            left = _text(left) + _text(self.unary())
        self.depth -= 1
        return left

    def unary(self) -> Value:
        tok = self.peek()
        if tok is not None and tok.type == "OPERATOR-PREFIX":
            self.take()
            value = _number(self.unary())
            return -value if tok.value == "-" else value
        value = self.primary()
        nxt = self.peek()
        if nxt is not None and nxt.type == "OPERATOR-POSTFIX":
            raise _Unknown
        return value

    def primary(self) -> Value:
        tok = self.take()
        if tok.type == "OPERAND" and tok.subtype == "TEXT":
            return _unquote(tok.value)
        if tok.type == "OPERAND" and tok.subtype == "NUMBER":
            return _number(tok.value)
        if tok.type == "PAREN" and tok.subtype == "OPEN":
            value = self.expr()
            close = self.take()
            if close.type != "PAREN":
                raise _Unknown
            return value
        if tok.type == "FUNC" and tok.subtype == "OPEN":
            name = tok.value[:-1].upper()
            for prefix in ("_XLFN.", "_XLWS."):
                name = name.removeprefix(prefix)
            fn = _FUNCTIONS.get(name)
            if fn is None:
                raise _Unknown
            args: list[Value] = []
            if (nxt := self.peek()) is not None and nxt.type == "FUNC" and nxt.subtype == "CLOSE":
                self.take()
            else:
                while True:
                    args.append(self.expr())
                    sep = self.take()
                    if sep.type == "FUNC" and sep.subtype == "CLOSE":
                        break
                    if not (sep.type == "SEP" and sep.subtype == "ARG"):
                        raise _Unknown
            if not args:
                raise _Unknown
            return fn(args)
        raise _Unknown


def evaluate(formula: str) -> str | None:
    """The value (as cell text) of a formula made of constants only; None when it cannot be worked out here."""
    if len(formula) > MAX_FORMULA:
        return None
    try:
        parser = _Parser(_tokens(formula))
        value = parser.expr()
        if parser.peek() is not None:
            return None
        return _text(value)
    except (_Unknown, ValueError, TypeError, OverflowError, RecursionError, IndexError):
        return None
    except Exception:  # noqa: BLE001 - openpyxl's TokenizerError and kin on malformed formulas
        return None


_QUOTED = re.compile(r'"((?:[^"]|"")*)"')
_DIGITS = re.compile(r"\d+")


def literals(formula: str) -> list[str]:
    """The text and number constants written in a formula, in order (any formula, even a malformed one)."""
    try:
        if len(formula) > MAX_FORMULA:
            raise ValueError
        out = []
        for tok in _tokens(formula):
            if tok.type == "OPERAND" and tok.subtype == "TEXT":
                out.append(_unquote(tok.value))
            elif tok.type == "OPERAND" and tok.subtype == "NUMBER":
                out.append(tok.value)
        return out
    except Exception:  # noqa: BLE001 - fall back to what looks like a constant
        quoted = [m.replace('""', '"') for m in _QUOTED.findall(formula)]
        return quoted + _DIGITS.findall(_QUOTED.sub(" ", formula))


def hidden_values(formula: str) -> list[str]:
    """What a check should look at in a formula: its value when it can be worked out, and its constants one
    by one, joined, their digits joined (``="138"&A1&"12345678"``) and each constant's runs of digits (a
    function may cut a mobile out of ``"13812345678X"``, which as written is no mobile)."""
    value = evaluate(formula)
    lits = literals(formula)
    out = [value] if value is not None else []
    runs = [run for lit in lits for run in _DIGITS.findall(lit)]
    return out + lits + ["".join(lits), "".join(ch for lit in lits for ch in lit if ch.isdigit())] + runs
