"""The columns of an Arrow record batch handed over through the Arrow C data interface (``__arrow_c_array__``,
as fastexcel gives a sheet), read into numpy arrays with ctypes: no pyarrow (about 30 MB more per process,
and not proven under Wine). Only the layouts a sheet arrives in are read: UTF-8 strings (``u``, ``U``),
float64 (``g``), int64 (``l``) and all-null (``n``) columns; any other column comes back as its format string
so the caller can decline the sheet. String data and offsets are views of the producer's memory, which the
returned ``Batch`` keeps alive until it is dropped; the rest is copied."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np


class _Schema(ctypes.Structure):
    pass


_Schema._fields_ = [("format", ctypes.c_char_p), ("name", ctypes.c_char_p), ("metadata", ctypes.c_char_p),
                    ("flags", ctypes.c_int64), ("n_children", ctypes.c_int64),
                    ("children", ctypes.POINTER(ctypes.POINTER(_Schema))), ("dictionary", ctypes.POINTER(_Schema)),
                    ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]


class _Array(ctypes.Structure):
    pass


_Array._fields_ = [("length", ctypes.c_int64), ("null_count", ctypes.c_int64), ("offset", ctypes.c_int64),
                   ("n_buffers", ctypes.c_int64), ("n_children", ctypes.c_int64),
                   ("buffers", ctypes.POINTER(ctypes.c_void_p)), ("children", ctypes.POINTER(ctypes.POINTER(_Array))),
                   ("dictionary", ctypes.POINTER(_Array)), ("release", ctypes.c_void_p),
                   ("private_data", ctypes.c_void_p)]

_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_pointer.restype = ctypes.c_void_p
_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


class ArrowLayoutError(Exception):
    """A record batch not laid out as the Arrow C data interface says (the caller reads the sheet otherwise)."""


@dataclass
class ArrowColumn:
    """One column: ``kind`` "string" (``data`` the UTF-8 bytes, ``offsets`` n + 1 of them), "float", "int"
    (``values``), "null", or the Arrow format of a layout not read. ``valid``: None when no value is null."""

    kind: str
    length: int
    valid: np.ndarray | None = None
    data: np.ndarray | bytes = b""
    offsets: np.ndarray | None = None
    values: np.ndarray | None = None


def _buffer(arr: _Array, i: int, dtype, count: int) -> np.ndarray:
    """A view of buffer ``i`` (valid while the producer's array lives)."""
    ptr = arr.buffers[i]
    if not ptr:
        raise ArrowLayoutError("missing buffer")
    return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(np.ctypeslib.as_ctypes_type(dtype))), (count,))


def _valid(arr: _Array, n: int) -> np.ndarray | None:
    if arr.null_count == 0 or not arr.buffers[0]:
        return None
    off = arr.offset
    bits = np.frombuffer(ctypes.string_at(arr.buffers[0], (off + n + 7) // 8), np.uint8)
    return np.unpackbits(bits, bitorder="little")[off:off + n].astype(bool)


def _column(fmt: bytes, arr: _Array) -> ArrowColumn:
    n, off = int(arr.length), int(arr.offset)
    if fmt == b"n":
        return ArrowColumn("null", n, valid=np.zeros(n, bool))
    if fmt in (b"u", b"U"):
        if arr.n_buffers != 3:
            raise ArrowLayoutError("string column without three buffers")
        offsets = _buffer(arr, 1, np.int32 if fmt == b"u" else np.int64, off + n + 1)[off:]
        end = int(offsets[-1]) if n else 0
        data = _buffer(arr, 2, np.uint8, end) if end else b""
        return ArrowColumn("string", n, _valid(arr, n), data=data, offsets=offsets)
    if fmt in (b"g", b"l"):
        values = _buffer(arr, 1, np.float64 if fmt == b"g" else np.int64, off + n)[off:].copy()
        return ArrowColumn("float" if fmt == b"g" else "int", n, _valid(arr, n), values=values)
    return ArrowColumn(fmt.decode("ascii", "replace"), n)


class Batch:
    """The columns of a record batch, and the producer's capsules whose memory their views are of."""

    def __init__(self, obj) -> None:
        self._capsules = obj.__arrow_c_array__()
        schema_capsule, array_capsule = self._capsules
        schema = ctypes.cast(_pointer(schema_capsule, b"arrow_schema"), ctypes.POINTER(_Schema)).contents
        array = ctypes.cast(_pointer(array_capsule, b"arrow_array"), ctypes.POINTER(_Array)).contents
        if schema.format != b"+s" or schema.n_children != array.n_children or array.offset:
            raise ArrowLayoutError("not a record batch")
        self.columns = [_column(schema.children[i].contents.format, array.children[i].contents)
                        for i in range(int(schema.n_children))]
