"""A text table (CSV/TSV/TXT) judged by the kernel, with the result the reference reader and analyzer
(auditor.tabular, auditor.files.table_scan) give for it.

The encoding is sniffed and the delimiter chosen by the reference functions. The first rows (the sample the
columns are judged from) are read and judged by the reference itself; the rest is read in blocks of bytes
(kernel.grid) and judged batch by batch (kernel.batch) — in the file's own bytes when the encoding allows it
(UTF-8; GBK/GB18030 with a comma, tab or semicolon), else in the UTF-8 of its decoded text. The file is hashed
in the same pass. Whatever the kernel does not read exactly raises Unsupported, and the caller reads the file
the reference way from its start."""

from __future__ import annotations

import codecs
import hashlib
import io
from typing import IO, Iterator

import numpy as np

from ...table_bounds import text_rows
from ...tabular import UnreadableTable, sniff_delimiter
from ...textcodec import SAMPLE, is_binary, sniff
from ..table_scan import BATCH_CHARS, BATCH_ROWS, HEADER_SCAN, SAMPLE_CHARS, SAMPLE_ROWS, TableAnalyzer, TableResult
from .batch import BatchJudge
from .grid import Grid, Unsupported
from .shapes import Shapes

BLOCK = 2 << 20  # bytes read at once (a batch of BATCH_ROWS records may take several)
HEAD_ROWS = SAMPLE_ROWS + HEADER_SCAN
BYTE_SAFE = {"utf-8": ",\t;|", "gb18030": ",\t;"}  # codecs whose bytes the kernel reads, with these delimiters


class _Source:
    """The file's bytes in pieces, hashed as they are read."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.hash, self.eof = fh, hashlib.sha256(), False

    def read(self, n: int) -> bytes:
        data = self.fh.read(n)
        if len(data) < n:  # a buffered or in-memory file reads short only at its end
            self.eof = True
        self.hash.update(data)
        return data


class TextKernel:
    def __init__(self, analyzer: TableAnalyzer) -> None:
        self.analyzer = analyzer
        self.shapes = Shapes(analyzer.rules)

    def read(self, fh: IO[bytes], sheet: str = "") -> tuple[TableResult, str]:
        """(the table's judgement, the file's SHA-256). UnreadableTable for binary content (as the reference
        says it); Unsupported when the reference must read the file."""
        src = _Source(fh)
        first = src.read(1 << 20)
        sample = first[:SAMPLE]
        if is_binary(sample):
            raise UnreadableTable("binary content, not text")
        mark, codec = sniff(sample)
        decoder = codecs.getincrementaldecoder(codec)("replace")
        body = first[len(mark):]
        # the text of the sample the delimiter is chosen from: decoded piece by piece until it is long enough
        # (the rest of the first read is decoded only when the text itself is judged, below)
        text, done = "", 0
        while len(text) < SAMPLE and done < len(body):
            done += SAMPLE
            text += decoder.decode(body[done - SAMPLE:done], final=src.eof and done >= len(body))
        pieces = [body]
        while len(text) < SAMPLE and not src.eof:
            more = src.read(1 << 20)
            pieces.append(more)
            text += decoder.decode(more, final=src.eof)
        delimiter = sniff_delimiter(text[:SAMPLE])
        rest = body[done:]  # not decoded yet: only the transcoding path needs its text
        if delimiter in BYTE_SAFE.get(codec, ""):
            def decode(data: bytes) -> str:
                return data.decode(codec, "replace")

            def encode(s: str) -> bytes:
                return s.encode(codec)

            blocks = self._raw(src, b"".join(pieces))
        else:
            def decode(data: bytes) -> str:
                return data.decode("utf-8", "surrogatepass")

            def encode(s: str) -> bytes:
                return s.encode("utf-8", "surrogatepass")

            if rest:
                text += decoder.decode(rest, final=src.eof)
            blocks = self._transcoded(src, text, decoder)
        judge = BatchJudge(self.analyzer, self.shapes, decode, encode)
        res = TableResult(sheet)
        self._judge(blocks, delimiter, decode, judge, res)
        return res, src.hash.hexdigest()

    # ------------------------------------------------------------------ the bytes judged
    @staticmethod
    def _raw(src: _Source, start: bytes) -> Iterator[tuple[bytes, bool]]:
        yield start, src.eof
        while not src.eof:
            data = src.read(BLOCK)
            yield data, src.eof

    @staticmethod
    def _transcoded(src: _Source, text: str, decoder) -> Iterator[tuple[bytes, bool]]:
        yield text.encode("utf-8", "surrogatepass"), src.eof
        while not src.eof:
            data = src.read(BLOCK)
            yield decoder.decode(data, final=src.eof).encode("utf-8", "surrogatepass"), src.eof

    # ------------------------------------------------------------------ rows and batches
    def _judge(self, blocks: Iterator[tuple[bytes, bool]], delimiter: str, decode, judge: BatchJudge,
               res: TableResult) -> None:
        an = self.analyzer
        plan = None
        carry = b""
        pieces: list[bytes] = []
        held = 0
        for data, final in blocks:
            pieces.append(data)
            held += len(data)
            if not final and held < BLOCK:
                continue
            buf = carry + b"".join(pieces)
            pieces, held = [], 0
            grid = Grid(buf, delimiter, final)
            pos = 0
            if plan is None:
                if grid.n <= HEAD_ROWS and not final:
                    if len(buf) >= SAMPLE_CHARS:
                        raise Unsupported("first rows over the sample bound")
                    carry = buf
                    continue
                pos = min(HEAD_ROWS, grid.n)
                end = self._end(grid, pos)
                if end >= SAMPLE_CHARS:
                    raise Unsupported("first rows over the sample bound")
                head = self._rows(decode, buf[:end], delimiter, pos)
                plan = an.begin(res, head)
            while grid.n - pos >= BATCH_ROWS or (final and pos < grid.n):
                stop = min(pos + BATCH_ROWS, grid.n)
                if self._end(grid, stop) - int(grid.starts[pos]) >= BATCH_CHARS:
                    raise Unsupported("a batch over the batch bound")
                recs = np.arange(pos, stop)
                if not judge.judge(grid, recs, res, plan):
                    rows = self._rows(decode, buf[int(grid.starts[pos]):self._end(grid, stop)], delimiter, stop - pos)
                    if not an._batch(rows, res, plan):
                        for row in rows:
                            an._row(row, res, plan)
                pos = stop
            carry = buf[int(grid.starts[pos]) if pos < grid.n else grid.consumed:]
            if len(carry) >= BATCH_CHARS:
                raise Unsupported("a batch over the batch bound")
        if plan is None:  # nothing read at all
            an.begin(res, [])

    @staticmethod
    def _end(grid: Grid, stop: int) -> int:
        """Where record ``stop`` starts (the end of the records before it, line breaks included)."""
        return int(grid.starts[stop]) if stop < grid.n else grid.consumed

    @staticmethod
    def _rows(decode, data: bytes, delimiter: str, expected: int) -> list[list[str]]:
        """Records read by the reference reader (the first rows; a batch the kernel leaves to the reference)."""
        bounded = text_rows(decode(data), io.StringIO(""), delimiter)
        rows = list(bounded)
        if len(rows) != expected or bounded.cuts.notes():
            raise Unsupported("records the reference reads otherwise")
        return rows
