"""The plain rules behind attachments (the type read from the bytes, the size bound) and
retention (domain.md section 8), at their boundaries."""

from __future__ import annotations

import base64
from datetime import date

import pytest

from shared.errors import ValidationFailed

from services.records.attachments import decode_content, sniff_content_type
from services.records.retention import retain_until, years_after

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 13
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"


@pytest.mark.parametrize("data,kind", [
    (PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg"),
    (b"just some text, named report.pdf", None),   # the name is not the type
    (b"%PDF", None),                                 # four bytes of a signature are not a PDF
    (b"\x89PNG\r\n\x1a", None),                      # one byte short
    (b"GIF89a\x01\x00", None), (b"<html><body>%PDF-1.7", None), (b"", None),
])
def test_the_content_type_is_read_from_the_first_bytes(data, kind):
    assert sniff_content_type(data) == kind


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_a_file_of_exactly_the_bound_is_kept_and_one_byte_more_refused_naming_content():
    exact = PDF + b"x" * (100 - len(PDF))
    assert decode_content(b64(exact), max_bytes=100) == (exact, "application/pdf")
    with pytest.raises(ValidationFailed) as refused:
        decode_content(b64(exact + b"x"), max_bytes=100)
    assert list(refused.value.details) == ["content"]


@pytest.mark.parametrize("encoded", [b64(b"plain text pretending to be a PDF"), "not base64 !", "", b64(b"")])
def test_anything_but_a_pdf_jpeg_or_png_in_base64_is_a_400_naming_content(encoded):
    with pytest.raises(ValidationFailed) as refused:
        decode_content(encoded, max_bytes=1 << 20)
    assert list(refused.value.details) == ["content"]


def test_years_after_keeps_the_day_and_moves_29_february_forward_never_back():
    assert years_after(date(2026, 11, 20), 15) == date(2041, 11, 20)
    assert years_after(date(2024, 2, 29), 15) == date(2039, 3, 1)    # 2039 is a common year
    assert years_after(date(2024, 2, 29), 16) == date(2040, 2, 29)   # 2040 is a leap year


def test_an_archive_is_kept_15_years_from_its_last_service():
    assert retain_until(date(2026, 11, 20), None, None) == (date(2041, 11, 20), "last_service")


def test_an_inpatient_record_keeps_it_30_years_and_wins_when_later():
    # a stay 15 years before the last service ends on the same day: the service rule decides the tie
    assert retain_until(date(2026, 11, 20), date(2011, 11, 20), None) == (date(2041, 11, 20), "last_service")
    assert retain_until(date(2026, 11, 20), date(2011, 11, 21), None) == (date(2041, 11, 21), "inpatient")


def test_a_termination_after_the_last_service_counts_from_its_date():
    assert retain_until(date(2026, 1, 5), None, date(2026, 1, 5)) == (date(2041, 1, 5), "last_service")
    assert retain_until(date(2026, 1, 5), None, date(2026, 1, 6)) == (date(2041, 1, 6), "termination")
    # a death long after the last inpatient stay: the stay's 30 years still decide if later
    assert retain_until(date(2026, 1, 5), date(2020, 6, 1), date(2026, 1, 6)) == (date(2050, 6, 1), "inpatient")
