"""PDF label batches (issue #17 item 2): the text layer read by auditor.pdf_text (pypdf) from PDFs made here with
a real PDF writer (reportlab), and judged by auditor.files.label_scan: distinct unmasked recipients per document,
masked labels, repeated recipients, the sender's own number, decoys, encrypted and scanned PDFs."""

from __future__ import annotations

import io
import random
import zlib

import pytest
from reportlab.lib import pdfencrypt

from auditor.files.label_scan import judge_pages
from auditor.pii.rules import load_rules
from auditor.pdf_text import UnreadablePdf, read_pdf
from exportgen import mask_mobile, mask_name, person
from formatgen import catalogue_pdf, label_pdf, scanned_pdf


def _rng(*key) -> random.Random:
    return random.Random(zlib.crc32("|".join(map(str, key)).encode()))


def _judge(data: bytes):
    text = read_pdf(io.BytesIO(data))
    return text, judge_pages(text.texts, load_rules(), text.notes)


@pytest.mark.parametrize("layout", ["thermal", "a4", "split"])
@pytest.mark.parametrize("masked", [0.0, 0.3, 1.0])
def test_label_batches_count_distinct_recipients(layout, masked):
    labels = label_pdf(_rng(layout, masked), 60, layout=layout, masked=masked, repeats=8)
    text, res = _judge(labels.data)
    assert text.pages == labels.pages and res.total_rows == labels.pages
    assert res.records == labels.records  # a recipient with two parcels is one record
    if masked == 1.0:
        assert res.records == 0 and res.masked_share == 1.0 and res.kinds["mobile"] == "masked"
    elif masked:
        assert 0.15 < res.masked_share < 0.45
    if res.records:
        assert res.kinds["mobile"] == "unmasked" and res.kinds["address"] == "unmasked"
        assert res.samples and all("*" in s for s in res.samples)
        assert not any(s.startswith("0579") or "85123456" in s for s in res.samples)


def test_the_senders_own_number_on_every_label_is_no_record():
    labels = label_pdf(_rng("few"), 3, layout="thermal")
    _, res = _judge(labels.data)
    assert res.records == 3  # the shop's 0579 landline is no mobile; nothing else repeats


def test_id_numbers_in_a_register_pdf_are_people():
    from formatgen import _canvas, A4

    rng = _rng("register")
    buf = io.BytesIO()
    c = _canvas(buf, A4)
    c.setFont("STSong-Light", 10)
    c.drawString(40, 800, "寄件实名登记表   日期 2026-11-01")
    c.drawString(40, 780, "姓名        证件号码                联系电话")
    people = [person(rng) for _ in range(25)]
    for i, p in enumerate(people):
        c.drawString(40, 760 - i * 18, f"{p.name}    {p.id_number}    {p.mobile}")
    c.showPage()
    c.save()
    _, res = _judge(buf.getvalue())
    assert res.records == 25 and res.id_rows == 25  # ID and mobile on one line: one person
    assert res.kinds["id_number"] == "unmasked"


def test_product_catalogue_is_no_batch():
    _, res = _judge(catalogue_pdf(_rng("catalogue")))
    assert res.records <= 1  # the sales contact at most: product codes run in sequence


def test_owner_password_only_opens_and_user_password_does_not():
    rng = _rng("enc")
    open_one = label_pdf(rng, 10, encrypt=pdfencrypt.StandardEncryption("", ownerPassword="owner", canPrint=1))
    assert _judge(open_one.data)[1].records == 10
    locked = label_pdf(rng, 10, encrypt=pdfencrypt.StandardEncryption("user-secret", ownerPassword="owner"))
    with pytest.raises(UnreadablePdf, match=r"encrypted \(password-protected PDF\)"):
        read_pdf(io.BytesIO(locked.data))


@pytest.mark.parametrize("make,reason", [
    (lambda: scanned_pdf(), "no text layer"),
    (lambda: label_pdf(_rng("cut"), 20).data[:1800], "corrupt or unreadable PDF"),
    (lambda: b"%PDF-1.7\n" + bytes(range(256)) * 40, "corrupt or unreadable PDF"),
    (lambda: b"PK\x03\x04 not a pdf", "not a PDF"),
])
def test_unreadable_pdfs_say_why(make, reason):
    with pytest.raises(UnreadablePdf, match=reason):
        read_pdf(io.BytesIO(make()))


def _labels(lines_of_labels: list[list[str]]) -> bytes:
    from formatgen import _canvas, A4

    buf = io.BytesIO()
    c = _canvas(buf, A4)
    for lines in lines_of_labels:
        c.setFont("STSong-Light", 10)
        for k, line in enumerate(lines):
            c.drawString(40, 800 - k * 16, line)
        c.showPage()
    c.save()
    return buf.getvalue()


def test_cross_border_labels_id_below_the_mobile_is_one_person():
    """A customs label: the mobile under the name, the ID number three lines further down: one person each; the
    18-digit order numbers (some pass the ID checksum) and the waybill numbers (JT86… holds "86 1xx…") are not
    people's numbers."""
    rng = _rng("customs")
    people = [person(rng) for _ in range(30)]
    pages = []
    for k, p in enumerate(people):
        order = p.id_number if k % 3 == 0 else str(rng.randint(10 ** 17, 10 ** 18 - 1))  # checksum-valid "orders"
        pages.append([f"极兔速递   JT86{p.mobile}", f"收 {p.name}", p.mobile, p.address[:14], p.address[14:],
                      f"身份证：{p.id_number}", "寄 义乌仓 0579-85123456", f"订单 {order}  打印时间 2026-11-01"])
    _, res = _judge(_labels(pages))
    assert res.records == 30 and res.id_rows == 30


def test_an_order_number_that_passes_the_checksum_is_no_id():
    rng = _rng("orders")
    pages = []
    for _ in range(12):
        p = person(rng)
        pages.append([f"收件人：{mask_name(p.name)} {mask_mobile(p.mobile)}", f"地址：{p.province}{p.city}****",
                      f"订单编号 {person(rng).id_number}"])  # a valid ID number printed as an order number
    _, res = _judge(_labels(pages))
    assert res.records == 0 and res.masked_rows == 12
