import pytest

from bot.news.clean import html_to_text, plain_text, strip_debris, strip_invisible


def test_html_to_text_drops_active_content_and_keeps_structure() -> None:
    html = (
        "<div><h2>Patch now</h2><p>Vendor&nbsp;fixed <b>CVE-2025-0001</b> &amp; "
        "<a href='https://x.example'>more</a>.</p>"
        "<script>var secret = 'do-not-show';</script>"
        "<style>.x{color:red}</style>"
        "<iframe src='https://evil.example'>frame body</iframe>"
        "<noscript>enable js</noscript>"
        "<ul>\n  <li>Update firmware</li>\n  <li>Rotate keys</li>\n</ul>"
        "<p>Line one<br>line two</p><!-- a comment --></div>"
    )
    text = html_to_text(html)
    assert text == (
        "Patch now\n\nVendor fixed CVE-2025-0001 & more.\n\n"
        "Update firmware\nRotate keys\n\nLine one\nline two"
    )
    for bad in ("do-not-show", "color:red", "frame body", "enable js", "a comment"):
        assert bad not in text


def test_html_to_text_whitespace_and_entities() -> None:
    assert html_to_text("  <p>  a \t\n  b  </p>\n\n\n<p>c&#8217;s &lt;tag&gt;</p> ") == (
        "a b\n\nc’s <tag>"
    )
    assert html_to_text("plain &amp; simple\n\n\n\ntext") == "plain & simple\n\ntext"
    assert html_to_text("") == "" and html_to_text("   ") == ""
    assert html_to_text("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>") == (
        "a b\nc"
    )


def test_html_to_text_full_document_and_broken_markup() -> None:
    doc = "<html><head><title>T</title><script>x()</script></head><body><p>Body</p></body></html>"
    assert html_to_text(doc) == "Body"
    assert html_to_text("<p>unclosed <b>bold <i>italic") == "unclosed bold italic"


def test_html_to_text_strips_invisible() -> None:
    assert html_to_text("<p>pay\u200bpal\u202e</p>") == "paypal"


def test_strip_invisible() -> None:
    s = "a\u200bb\u200cc\u200dd\u2060e\ufefff\u00adg\u200eh\u200fi\u202aj\u202ek\u2066l\u2069m"
    assert strip_invisible(s) == "abcdefghijklm"
    assert strip_invisible("naïve café — ok ✓") == "naïve café — ok ✓"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Breach at <b>Acme</b>  &amp; co \n", "Breach at Acme & co"),
        ("<script>alert(1)</script>Real title", "Real title"),
        ("Tom &#38; Jerry&#x2019;s", "Tom & Jerry’s"),
        ("a\u200b\u202eb\n\nc", "ab c"),
        ("5 < 6 and 7 > 3", "5 < 6 and 7 > 3"),
        ("", ""),
        (None, ""),
    ],
)
def test_plain_text(raw: str | None, expected: str) -> None:
    assert plain_text(raw) == expected


# Imitates an importer's raw page text: body interleaved with chrome and credits.
RAW_PAGE = """Ransomware crew targets hospital suppliers

Listen to this Post

2025-01-09

A ransomware crew has been breaking into medical suppliers through exposed remote desktop servers.

of the

Share this article
Share on Facebook
Tweet
Share on LinkedIn
Facebook Twitter LinkedIn Email

1. The crew encrypts inventory systems first.
2. Stolen data is posted after seven days.

We use cookies to give you the best experience. By continuing, you agree to our cookie policy.
Accept all cookies
Advertisement
Subscribe to our newsletter for daily updates

The suppliers said they had restored operations from backups. Share prices fell 4% on the news.

References:

Reported By: example-news.test
https://example-news.test/ransomware-suppliers

Image Source:

ImageGen: https://images.example
Studio Z v3: https://studio.example/zFeatured Image
"""


def test_strip_debris() -> None:
    cleaned = strip_debris(RAW_PAGE)
    assert cleaned == (
        "Ransomware crew targets hospital suppliers\n\n"
        "2025-01-09\n\n"
        "A ransomware crew has been breaking into medical suppliers through exposed remote "
        "desktop servers.\n\n"
        "1. The crew encrypts inventory systems first.\n"
        "2. Stolen data is posted after seven days.\n\n"
        "The suppliers said they had restored operations from backups. Share prices fell 4% "
        "on the news.\n\n"
        "References:\n\n"
        "Reported By: example-news.test\n"
        "https://example-news.test/ransomware-suppliers"
    )


@pytest.mark.parametrize(
    "line",
    [
        "Image Source: Shutterstock",
        "Photo credit: Jane Doe",
        "Featured Image",
        "ADVERTISEMENT",
        "Story continues below advertisement",
        "Share this:",
        "Share via Email",
        "Click to share on Twitter",
        "Follow us on LinkedIn",
        "This website uses cookies to improve your experience.",
        "Reject all",
        "Manage cookies",
        "Sign up for our weekly newsletter",
        "Skip to content",
        "Read more »",
        "Related articles",
        "the",
        "Of The",
    ],
)
def test_debris_lines_dropped(line: str) -> None:
    assert strip_debris(f"Real paragraph one.\n{line}\nReal paragraph two.") == (
        "Real paragraph one.\nReal paragraph two."
    )


@pytest.mark.parametrize(
    "line",
    [
        "The malware steals browser cookies and session tokens from victims.",
        "Attackers used a fake newsletter signup page to collect credentials.",
        "Twitter and Facebook accounts of the firm were hijacked on Monday.",
        "Share prices of the company fell after the breach was disclosed.",
        "The advertisement network was abused to deliver malvertising.",
        "Of the 40 victims, twelve paid the ransom.",
        "CVE-2025-1234",
        "Tweet deck users were phished via a fake login page.",
    ],
)
def test_real_sentences_survive(line: str) -> None:
    assert strip_debris(line) == line


def test_image_source_credits_end_at_prose() -> None:
    text = "Image Source:\nGen AI: https://gen.example\n\nThe story continues here with more facts."
    assert strip_debris(text) == "The story continues here with more facts."


def test_strip_debris_drops_page_furniture() -> None:
    body = "The gang encrypted 212 servers at the port operator on Monday morning."
    text = "\n".join([
        "Home | Newsletter | Webinars | About THN",
        body,
        "Trending",
        "Volt Typhoon Returns With New KV Botnet Nodes",
        "Tags: Ransomware, Sandworm",
        "185.220.101[.]47",
        "3 Comments",
        "Great write-up, but I bet APT41 is behind this one too.",
    ])
    assert strip_debris(text) == body
