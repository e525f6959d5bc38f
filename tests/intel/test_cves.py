import pytest

from bot.intel.cves import find_advisories, find_cves, is_cve, normalise_cve


def test_finds_normalises_and_dedupes_in_first_seen_order() -> None:
    text = (
        "Fixes for cve-2024-3400 and CVE-2023-4966 (Citrix Bleed). CVE-2024-3400 was "
        "exploited first; see https://nvd.nist.gov/vuln/detail/CVE-2021-44228."
    )
    assert find_cves(text) == ["CVE-2024-3400", "CVE-2023-4966", "CVE-2021-44228"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("CVE\u20132024\u20133400", ["CVE-2024-3400"]),  # en dashes
        ("CVE\u20112024\u20113400", ["CVE-2024-3400"]),  # non-breaking hyphens
        ("CVE\u22122024\u22123400", ["CVE-2024-3400"]),  # minus sign
        ("CVE-2024-1234567", ["CVE-2024-1234567"]),  # seven digits is valid
        ("CVE-1999-0001", ["CVE-1999-0001"]),
        ("(CVE-2024-21887)", ["CVE-2024-21887"]),
        ("CVE-2024-21887's impact", ["CVE-2024-21887"]),
        ("CVE-2024-21887-based exploit", ["CVE-2024-21887"]),
        ("CVE-2024-21887.", ["CVE-2024-21887"]),
        ("CVEs: CVE-2024-0001,CVE-2024-0002", ["CVE-2024-0001", "CVE-2024-0002"]),
    ],
)
def test_valid_variants(text: str, expected: list[str]) -> None:
    assert find_cves(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "CVE-2021-2021-22893",  # doubled year: no match at all, not CVE-2021-2021
        "CVE-21-1234",  # two-digit year
        "CVE-2021-123",  # three-digit sequence
        "CVE-2021-12345678",  # eight digits
        "XCVE-2021-1234",  # glued to a word
        "CVE-2021-1234abc",
        "CVE-2021-1234_patch",
        "CVE-1998-1234",  # before the CVE programme
        "CVE-2100-1234",
        "CVE 2021 1234",
        "CVE-2021-",
        "",
    ],
)
def test_malformed_ids_are_rejected(text: str) -> None:
    assert find_cves(text) == []


def test_malformed_token_does_not_hide_valid_neighbour() -> None:
    assert find_cves("CVE-2021-2021-22893 (really CVE-2021-22893)") == ["CVE-2021-22893"]


def test_vendor_advisory_ids_are_not_cves() -> None:
    text = (
        "See GHSA-JFH8-C2JP-5V3Q, MS23-045, RHSA-2024:1234, ZDI-24-123, ZDI-CAN-23456, "
        "VMSA-2024-0006, ICSA-24-102-01, USN-6543-1 and cisco-sa-asaftd-webvpn-xss-8uZpGs4."
    )
    assert find_cves(text) == []
    assert find_advisories(text) == [
        "GHSA-jfh8-c2jp-5v3q",
        "MS23-045",
        "RHSA-2024:1234",
        "ZDI-24-123",
        "ZDI-CAN-23456",
        "VMSA-2024-0006",
        "ICSA-24-102-01",
        "USN-6543-1",
        "cisco-sa-asaftd-webvpn-xss-8uzpgs4",
    ]


def test_advisories_and_cves_side_by_side() -> None:
    text = "GHSA-abcd-efgh-ijkl fixes CVE-2025-1001; MS24-001 does not. GHSA-abcd-efgh-ijkl."
    assert find_cves(text) == ["CVE-2025-1001"]
    assert find_advisories(text) == ["GHSA-abcd-efgh-ijkl", "MS24-001"]


def test_single_id_helpers() -> None:
    assert normalise_cve(" cve\u20132024\u20133400 ") == "CVE-2024-3400"
    assert normalise_cve("CVE-2021-2021-22893") is None
    assert normalise_cve("GHSA-abcd-efgh-ijkl") is None
    assert is_cve("CVE-2024-3400")
    assert not is_cve("CVE-2024-3400 and more")
