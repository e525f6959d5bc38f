from pathlib import Path

import pytest

from bot.intel.vendors import VENDORS, canonical_vendor, find_vendors, suggest_vendors

SEED = Path(__file__).parents[1] / "fixtures" / "articles" / "000_seed_format.txt"


def test_catalogue_is_curated_and_sizeable() -> None:
    assert len(VENDORS) >= 80
    assert len(set(VENDORS)) == len(VENDORS)


def test_canonical_names_dedup_and_first_seen_order() -> None:
    text = (
        "Fortinet and Palo Alto Networks shipped fixes; Microsoft patched Exchange Server "
        "and Windows 11. FORTINET again, then Google Chrome and Chrome for Android."
    )
    assert find_vendors(text) == [
        "Fortinet", "Palo Alto Networks", "Microsoft", "Microsoft Exchange", "Windows",
        "Chrome", "Android",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "an apple a day keeps the doctor away",
        "zoom in on the chart and cut some slack",
        "open the windows and check the edge of the table",
        "the oracle of delphi and threat intel feeds",
        "the future outlook is grim",
        "Future Outlook: more attacks are expected",  # section label in the seed
        "Edge devices such as routers are targeted",  # "edge devices", not the browser
        "a check point on the road; progress was made",
        "sap flows from the tree; a snowflake fell",
        "Intelligence agencies and Applebee's",  # no match inside longer words
        "3. Patch Windows Are Shrinking: the gap is now days",  # title-case label
        "Maintenance Windows of four hours",
    ],
)
def test_common_words_do_not_match(text: str) -> None:
    assert find_vendors(text) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Apple shipped iOS 18.2 and macOS fixes", ["Apple", "iOS", "macOS"]),
        ("Zoom and Slack patched clients", ["Zoom", "Slack"]),
        ("Outlook users were phished via Microsoft Edge", ["Outlook", "Microsoft Edge"]),
        ("Oracle and SAP released quarterly patches", ["Oracle", "SAP"]),
        ("Patch Windows now: Windows is under attack", ["Windows"]),
        ("Intel and AMD CPUs; NVIDIA drivers", ["Intel", "AMD", "NVIDIA"]),
        ("Check Point and Juniper Networks", ["Check Point", "Juniper Networks"]),
        ("Progress Software's MOVEit Transfer", ["Progress Software", "MOVEit"]),
        ("Citrix's NetScaler and F5 BIG-IP", ["Citrix", "NetScaler", "BIG-IP"]),
        ("PAN-OS GlobalProtect on Palo Alto firewalls",
         ["PAN-OS", "GlobalProtect", "Palo Alto Networks"]),
        ("Atlassian Confluence and Jira; GitLab and GitHub", ["Confluence", "Jira", "GitLab",
                                                             "GitHub"]),
        ("Ivanti Connect Secure and Pulse Secure", ["Ivanti Connect Secure"]),
        ("Mozilla Firefox and Thunderbird", ["Firefox", "Thunderbird"]),
        ("Amazon Web Services and Azure AD", ["AWS", "Microsoft Entra ID"]),
    ],
)
def test_exact_case_and_multiword_names(text: str, expected: list[str]) -> None:
    assert find_vendors(text) == expected


def test_with_parents_adds_the_vendor_after_the_product() -> None:
    text = "Attackers abused MOVEit and Windows; Chrome was also patched."
    assert find_vendors(text, with_parents=True) == [
        "MOVEit", "Progress Software", "Windows", "Microsoft", "Chrome", "Google",
    ]


def test_canonical_vendor_for_subscription_input() -> None:
    assert canonical_vendor("palo alto") == "Palo Alto Networks"
    assert canonical_vendor("  MOVEIT ") == "MOVEit"
    assert canonical_vendor("apple") == "Apple"  # the user means the vendor
    assert canonical_vendor("exchange server") == "Microsoft Exchange"
    assert canonical_vendor("Mozilla Firefox") == "Firefox"
    assert canonical_vendor("f5") == "F5"
    assert canonical_vendor("Totally Unknown Corp") is None
    assert canonical_vendor("") is None
    assert "Fortinet" in suggest_vendors("Fortinett")


def test_seed_article_vendors() -> None:
    found = find_vendors(SEED.read_text(encoding="utf-8"))
    assert "Ivanti Connect Secure" in found
    assert "Outlook" not in found  # "10. Future Outlook: …" is a label
