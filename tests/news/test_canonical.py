import pytest

from bot.news.canonical import canonical_url, is_tracking_param


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM/News/Story?id=7", "https://www.example.com/News/Story?id=7"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com:80/a", "https://example.com:80/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com?", "https://example.com/"),
        ("https://example.com/a?", "https://example.com/a"),
        ("https://example.com./a", "https://example.com/a"),
        ("  https://example.com/a  ", "https://example.com/a"),
        (
            "https://example.com/a?utm_source=rss&utm_medium=feed&utm_campaign=x&id=1",
            "https://example.com/a?id=1",
        ),
        (
            "https://example.com/a?b=2&fbclid=IwAR0&a=1&gclid=xyz&c=3",
            "https://example.com/a?b=2&a=1&c=3",
        ),
        (
            "https://example.com/a?mc_cid=1&mc_eid=2&igshid=3&ref=hn&ref_src=twsrc&_hsenc=4"
            "&_hsmi=5&mkt_tok=6&yclid=7&msclkid=8&cmpid=9&ncid=10&ocid=11&spm=12&s_cid=13"
            "&sr_share=14&CMP=15&UTM_Content=16",
            "https://example.com/a",
        ),
        ("https://example.com/a?x=&y=1&&", "https://example.com/a?x=&y=1"),
        ("https://example.com/a?q=a%20b&page=2", "https://example.com/a?q=a%20b&page=2"),
        ("https://example.com/a?ref=1#x", "https://example.com/a"),
        ("https://[2001:DB8::1]:443/x?utm_x=1", "https://[2001:db8::1]/x"),
        ("https://user@Example.com/a", "https://user@example.com/a"),
        ("mailto:news@example.com", "mailto:news@example.com"),
        ("/relative/path?utm_source=x", "/relative/path?utm_source=x"),
        ("", ""),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "HTTPS://Example.com:443/a/b/?utm_source=x&id=5&fbclid=abc&B=2#frag",
        "http://example.com",
        "https://example.com/%7Euser?q=a+b&q=c",
        "https://example.com/a?x=&&y",
        "https://[::1]:8443/p",
    ],
)
def test_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


def test_keeps_meaningful_params_and_path_case() -> None:
    # Path and parameter case matter to many servers; only scheme and host fold.
    assert canonical_url("https://Ex.com/Path/CVE?ID=A&Page=2") == "https://ex.com/Path/CVE?ID=A&Page=2"
    assert not is_tracking_param("id") and not is_tracking_param("page")
    assert is_tracking_param("utm_term") and is_tracking_param("UTM_SOURCE")
    assert is_tracking_param("fbclid") and is_tracking_param("cmp")


def test_same_story_different_tracking_is_one_url() -> None:
    a = canonical_url("https://news.example/story-1?utm_source=twitter&utm_medium=social")
    b = canonical_url("https://NEWS.example:443/story-1?fbclid=abc#top")
    c = canonical_url("https://news.example/story-1")
    assert a == b == c
