import pytest

from bot.intel.sentences import split_sentences


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "The U.S. Treasury sanctioned Acme Inc. on Monday. The firm denied it.",
            ["The U.S. Treasury sanctioned Acme Inc. on Monday.", "The firm denied it."],
        ),
        (
            "Attacks hit targets in the U.S. The agency said so.",
            ["Attacks hit targets in the U.S.", "The agency said so."],
        ),
        (
            "Use a browser, e.g. Chrome, or i.e. Firefox. Update now.",
            ["Use a browser, e.g. Chrome, or i.e. Firefox.", "Update now."],
        ),
        (
            "Dr. Smith met Mr. Jones on Jan. 5 vs. Feb. 6 at No. 10 Downing St. in London.",
            ["Dr. Smith met Mr. Jones on Jan. 5 vs. Feb. 6 at No. 10 Downing St. in London."],
        ),
        (
            "Acme Corp. and Globex Ltd. merged. Initech Inc. The end.",
            ["Acme Corp. and Globex Ltd. merged.", "Initech Inc.", "The end."],
        ),
        (
            "Update to v1.2.3. Windows 10.0.19045 is affected. Build 7.4.1.2 is not.",
            ["Update to v1.2.3.", "Windows 10.0.19045 is affected.", "Build 7.4.1.2 is not."],
        ),
        (
            "The C2 server was 192.168.10.1. It later moved to 10.0.0.5 and 203.0.113.7.",
            ["The C2 server was 192.168.10.1.", "It later moved to 10.0.0.5 and 203.0.113.7."],
        ),
        (
            "Patch CVE-2024-12345. It is rated 9.8 and costs $4.5 million. Really.",
            ["Patch CVE-2024-12345.", "It is rated 9.8 and costs $4.5 million.", "Really."],
        ),
        (
            "Wait... the attack resumed. Then\u2026 Nothing happened.",
            ["Wait... the attack resumed.", "Then\u2026", "Nothing happened."],
        ),
        (
            "Details at https://example.com/a/b.html?x=1.2. Next sentence here.",
            ["Details at https://example.com/a/b.html?x=1.2.", "Next sentence here."],
        ),
        (
            '"We patched it." The vendor said more. "Is it fixed?" he asked. Yes!',
            ['"We patched it."', "The vendor said more.", '"Is it fixed?" he asked.', "Yes!"],
        ),
        (
            "APT29, a.k.a. Cozy Bear, struck. John F. Kennedy airport was fine.",
            ["APT29, a.k.a. Cozy Bear, struck.", "John F. Kennedy airport was fine."],
        ),
        (
            "Apple fixed two bugs. iOS users should update. macOS too.",
            ["Apple fixed two bugs.", "iOS users should update.", "macOS too."],
        ),
        (
            "Prices rose 3.5%. The rest is 1,234 units.",
            ["Prices rose 3.5%.", "The rest is 1,234 units."],
        ),
    ],
)
def test_split_edge_cases(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_newlines_and_bullets_are_boundaries() -> None:
    text = (
        "Key points\n"
        "1. First point here\n"
        "2) Second point.\r\n"
        "- third point\n"
        "\u2022 fourth point \u2022 fifth point\n"
        "\n"
        "A paragraph that\nwraps."
    )
    assert split_sentences(text) == [
        "Key points",
        "First point here",
        "Second point.",
        "third point",
        "fourth point",
        "fifth point",
        "A paragraph that",
        "wraps.",
    ]


def test_numbers_at_line_start_are_not_list_markers() -> None:
    assert split_sentences("1.5 million users were hit.\n2024 was a bad year.") == [
        "1.5 million users were hit.",
        "2024 was a bad year.",
    ]


def test_whitespace_is_normalised_and_empty_input() -> None:
    assert split_sentences("  One\u00a0 two.   Three  four.  ") == ["One two.", "Three four."]
    assert split_sentences("") == []
    assert split_sentences("\n\n  \n") == []


def test_lower_case_continuation_is_not_split() -> None:
    assert split_sentences("It costs approx. ten dollars. ok.") == [
        "It costs approx. ten dollars. ok."
    ]
