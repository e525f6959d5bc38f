"""The KEV, EPSS and NVD parsers and offline CVSS scoring, on the project's own fixtures
in the sources' real formats, and on hostile bodies."""

from __future__ import annotations

import gzip
import zlib
from datetime import date
from pathlib import Path

import pytest

from bot.vulns import VulnFormatError
from bot.vulns.epss import open_epss
from bot.vulns.gzipcap import decompressed
from bot.vulns.kev import parse_kev
from bot.vulns.nvd import parse_nvd
from bot.vulns.vectors import score_vector

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vulns"
CAP = 1_000_000


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_kev_catalogue_fields() -> None:
    catalogue = parse_kev(fixture("kev.json"))
    assert catalogue.version == "2026.02.27" and catalogue.released == date(2026, 2, 27)
    first, citrix = catalogue.entries[0], catalogue.entries[1]
    assert (first.cve, first.vendor, first.product) == ("CVE-2024-3400", "Palo Alto Networks",
                                                        "PAN-OS")
    assert first.date_added == date(2024, 4, 12) and first.due_date == date(2024, 4, 19)
    assert not first.known_ransomware and citrix.known_ransomware
    assert first.required_action.startswith("Apply mitigations")
    assert "GlobalProtect" in first.description


@pytest.mark.parametrize(("body", "reason"), [
    (b"<!DOCTYPE html><html><body>Access Denied</body></html>", "not KEV JSON"),
    (b'{"vulnerabilities": [{"cveID": "CVE-2024-3400", "dateAdded": "2024-0', "not KEV JSON"),
    (b'{"title": "something else", "items": []}', "no 'vulnerabilities' list"),
    (b'{"vulnerabilities": []}', "lists no vulnerabilities"),
    (b'{"vulnerabilities": [{"cveID": "CVE-24-1", "dateAdded": "2024-01-01"}]}',
     "is not a CVE ID"),
    (b'{"vulnerabilities": [{"cveID": "CVE-2024-0001", "dateAdded": "soon"}]}',
     "is not a date"),
    (b"", "not KEV JSON"),
])
def test_kev_refuses_what_is_not_the_catalogue(body: bytes, reason: str) -> None:
    with pytest.raises(VulnFormatError, match=reason):
        parse_kev(body)


def test_epss_gzip_file_streams_rows_with_its_score_date() -> None:
    epss = open_epss(fixture("epss_scores.csv.gz"), max_bytes=CAP)
    assert epss.model_version == "v2025.03.14" and epss.score_date == date(2026, 2, 28)
    rows = list(epss.rows())
    assert len(rows) == 5
    assert rows[0] == ("CVE-2021-44228", pytest.approx(0.94358), pytest.approx(0.99957))


def test_epss_plain_csv_is_accepted_too() -> None:
    """A server that sent the file with Content-Encoding leaves it decompressed."""
    plain = gzip.decompress(fixture("epss_scores.csv.gz"))
    assert len(list(open_epss(plain, max_bytes=CAP).rows())) == 5


def _truncated_gzip() -> bytes:
    whole = fixture("epss_scores.csv.gz")
    return whole[: len(whole) - 30]


def _bomb(inflated: int) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    header = b"#model_version:v1,score_date:2026-02-28T00:00:00+0000\ncve,epss,percentile\n"
    row = b"CVE-2024-0001,0.1,0.2\n" * 50_000
    parts = [comp.compress(header)]
    for _ in range(inflated // len(row) + 1):
        parts.append(comp.compress(row))
    return b"".join(parts) + comp.flush()


@pytest.mark.parametrize(("body", "reason"), [
    (b"<html><head><title>Moved</title></head></html>", "not an EPSS CSV"),
    (gzip.compress(b"<!DOCTYPE html>\n<html></html>"), "not an EPSS CSV"),
    (gzip.compress(b"cve,epss,percentile\nCVE-2024-0001,high,0.9\n"), "not numbers"),
    (gzip.compress(b"cve,epss,percentile\nCVE-2024-0001,1.7,0.9\n"), "outside 0"),
    (gzip.compress(b"cve,epss,percentile\nnot-a-cve,0.1,0.9\n"), "is not 'cve,epss"),
    (gzip.compress(b"cve,epss,percentile\n"), "holds no scores"),
    (gzip.compress(b"cve,epss,percentile\n" + b"A" * 100_000), "thousands of bytes"),
    (b"\x1f\x8b\x08\x00garbage that is not deflate", "broken gzip"),
])
def test_epss_refuses_malformed_files(body: bytes, reason: str) -> None:
    with pytest.raises(VulnFormatError, match=reason):
        list(open_epss(body, max_bytes=CAP).rows())


def test_epss_truncated_gzip_is_refused_after_the_rows_before_it() -> None:
    with pytest.raises(VulnFormatError, match="truncated gzip"):
        list(open_epss(_truncated_gzip(), max_bytes=CAP).rows())


def test_epss_gzip_bomb_stops_at_the_cap() -> None:
    bomb = _bomb(50 * CAP)
    assert len(bomb) < CAP // 4  # small on the wire
    epss = open_epss(bomb, max_bytes=CAP)
    rows = 0
    with pytest.raises(VulnFormatError, match="larger than 1000000 bytes once decompressed"):
        for _ in epss.rows():
            rows += 1
    assert rows < CAP // 20  # stopped near the cap, not after 50 MB of rows


def test_decompressed_caps_small_bodies_too() -> None:
    assert decompressed(b'{"a": 1}', CAP, what="x") == b'{"a": 1}'
    assert decompressed(gzip.compress(b'{"a": 1}'), CAP, what="x") == b'{"a": 1}'
    with pytest.raises(VulnFormatError, match="KEV catalogue larger than"):
        decompressed(gzip.compress(bytes(2 * CAP)), CAP, what="KEV catalogue")


def test_nvd_prefers_the_newest_cvss_version_then_primary() -> None:
    record = parse_nvd(fixture("nvd_CVE-2024-3400.json"), "CVE-2024-3400")
    assert record.cvss is not None
    assert record.cvss.vector.startswith("CVSS:4.0/") and record.cvss.score == 10.0
    assert record.description.startswith("A command injection")  # English, not Spanish


def test_nvd_primary_wins_within_one_version() -> None:
    body = fixture("nvd_CVE-2024-3400.json").replace(b'"cvssMetricV40"', b'"ignoredV40"')
    cvss = parse_nvd(body, "CVE-2024-3400").cvss
    assert cvss is not None and (cvss.score, cvss.severity) == (9.8, "CRITICAL")
    assert cvss.vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def test_nvd_v2_severity_is_on_the_metric() -> None:
    cvss = parse_nvd(fixture("nvd_CVE-2012-0001.json"), "CVE-2012-0001").cvss
    assert cvss is not None and (cvss.score, cvss.severity) == (9.3, "HIGH")
    assert cvss.vector == "AV:N/AC:M/Au:N/C:C/I:C/A:C"


def test_nvd_without_metrics_or_without_the_cve_has_no_score() -> None:
    awaiting = parse_nvd(fixture("nvd_awaiting.json"), "CVE-2026-1281")
    assert awaiting.cvss is None and "code injection" in awaiting.description
    assert parse_nvd(fixture("nvd_none.json"), "CVE-2026-9999").cvss is None


@pytest.mark.parametrize("body", [
    b"<html>Request rejected</html>", b'{"message": "Invalid apiKey"}', b'{"vulnerabilities": ',
])
def test_nvd_refuses_non_answers(body: bytes) -> None:
    with pytest.raises(VulnFormatError):
        parse_nvd(body, "CVE-2024-3400")


@pytest.mark.parametrize(("text", "score", "severity"), [
    ("Rated (CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H) by the vendor.", 9.8, "CRITICAL"),
    ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5, "MEDIUM"),
    ("v4 CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N here", 9.3, "CRITICAL"),
    ("an old advisory scored it (AV:N/AC:L/Au:N/C:P/I:P/A:P)", 7.5, "HIGH"),
])
def test_score_vector_offline(text: str, score: float, severity: str) -> None:
    cvss = score_vector(text, "cve-2024-0001")
    assert cvss is not None and cvss.score == score and cvss.severity == severity
    assert cvss.source == "article" and cvss.cve == "CVE-2024-0001"


@pytest.mark.parametrize("text", [
    "no vector here", "CVSS:3.1/AV:N/AC:L", "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "",
])
def test_score_vector_none_for_missing_or_invalid(text: str) -> None:
    assert score_vector(text) is None
