"""A tree of CSV/TXT order exports as office PCs hold them, for the file-scan benchmarks (synthetic people).

The mix follows what the shop back offices and ERPs write: UTF-8 (with and without a byte-order mark), GBK and
GB18030 from Chinese Windows, UTF-16 tab-separated text (Excel's "Unicode text"), a title line above the header
on some, Excel's ="..." wrapping on some, partly masked exports, and files from a few hundred to 20,000 rows."""

from __future__ import annotations

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from exportgen import export_rows, write_csv  # noqa: E402

LAYOUTS = ("taobao", "douyin", "jd", "pdd", "erp", "english", "idcard")
# (encoding, delimiter, extension, share of the files)
ENCODINGS = (("utf-8", ",", ".csv", 30), ("gbk", ",", ".csv", 30), ("utf-8-sig", ",", ".csv", 10),
             ("gb18030", ",", ".csv", 5), ("utf-16", "\t", ".txt", 15), ("gbk", "\t", ".txt", 10))
SIZES = (300, 2_000, 8_000, 20_000)


def make_tree(root: Path, gib: float, seed: int = 42) -> tuple[int, int]:
    """Write exports under ``root`` until they hold ``gib`` GiB; (bytes, files). The same tree for the same
    arguments in every run (every seed is a string: no salted hash)."""
    rng = random.Random(seed)
    cache: dict[tuple, list[list[str]]] = {}
    weights = [e[3] for e in ENCODINGS]
    total = files = 0
    while total < gib * (1 << 30):
        layout = LAYOUTS[files % len(LAYOUTS)] if files % 9 else "taobao"
        rows_n = rng.choice(SIZES)
        masked = rng.choice((0.0, 0.0, 0.0, 0.3, 1.0))
        wrap = layout == "taobao" and files % 4 == 1
        title = files % 5 == 2
        key = (layout, rows_n, masked, wrap, title)
        if key not in cache:
            rows, _ = export_rows(random.Random(repr(key)), layout, rows_n, masked=masked, excel_wrap=wrap)
            if title:
                rows = [[f"订单导出 2026-11-{files % 28 + 1:02d} 共{rows_n}条"]] + rows
            cache[key] = rows
        enc, delim, ext, _ = rng.choices(ENCODINGS, weights)[0]
        path = root / f"u{files % 7}" / ("Desktop", "Downloads", "Documents", "WeChat Files")[files % 4] / \
            f"export_{files}{ext}"
        total += write_csv(path, cache[key], encoding=enc, delimiter=delim).stat().st_size
        files += 1
    return total, files


if __name__ == "__main__":
    print(make_tree(Path(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 1.0))
