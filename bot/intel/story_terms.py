"""What a story's text says about targets, malware, techniques and fix status.

Pure and rule-based: a fixed vocabulary of sectors and techniques, country names (see
geo.py), malware names from "X backdoor" / "a loader dubbed X", and the phrases outlets
use for exploitation and patch status. Sectors and countries count only in sentences
that speak of targeting ("breached telecom providers in Guam"), so "the German
government said" does not make Germany a target. Commentary compares these terms with
the ones earlier stories on the same actor or CVE carried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from bot.intel.cves import find_cves
from bot.intel.geo import countries_in, country_code
from bot.intel.sentences import split_sentences

# label: pattern. Checked in order; a label is kept once.
_SECTORS: tuple[tuple[str, str], ...] = (
    ("government", r"governments?|ministr(?:y|ies)|embass(?:y|ies)|diplomat(?:s|ic)?|"
                   r"federal (?:civilian )?agencies|public[- ]sector|municipal\w*"),
    ("defence", r"defen[cs]e(?: (?:contractors?|industry|industrial base|firms?))?|"
                r"armed forces|military (?:targets|networks|organi[sz]ations)"),
    ("healthcare", r"hospitals?|health ?care|health systems?|clinics?|pharmaceutical\w*"),
    ("energy", r"energy|power (?:grid|plants?|compan(?:y|ies))|oil and gas|electric\w*"),
    ("water utilities", r"water (?:utilit(?:y|ies)|treatment|systems?)"),
    ("telecoms", r"telecom\w*|mobile (?:operators?|carriers?)|internet service providers?"),
    ("finance", r"banks?|banking|financial (?:services|institutions|sector)|insurers?"),
    ("cryptocurrency", r"crypto(?:currency)? (?:exchanges?|compan(?:y|ies)|firms?|developers?)"
                       r"|digital assets|wallets?"),
    ("education", r"universit(?:y|ies)|schools?|academi(?:a|c)"),
    ("manufacturing", r"manufactur\w+|factor(?:y|ies)"),
    ("logistics", r"logistics|shipping|transportation|airlines?|airports?|grain exporters?"),
    ("retail", r"retail\w*|e-commerce"),
    ("IT service providers", r"(?:managed|IT) service providers?|MSPs?|cloud providers?"),
    ("think tanks", r"think tanks?"),
    ("NGOs", r"NGOs?|non-?governmental organi[sz]ations?|nonprofits?|civil society"),
    ("media", r"media (?:outlets?|organi[sz]ations?|compan(?:y|ies))|news organi[sz]ations?"),
    ("legal", r"law firms?"),
    ("critical infrastructure", r"critical infrastructure"),
)
_TECHNIQUES: tuple[tuple[str, str], ...] = (
    ("spear-phishing", r"spear-?phish\w*"),
    ("phishing", r"(?<!spear-)(?<!spear)phishing"),
    ("password spraying", r"password[- ]spray\w*"),
    ("credential stuffing", r"credential stuffing"),
    ("brute-force attacks", r"brute[- ]forc\w*"),
    ("stolen credentials", r"stolen credentials|credential theft|compromised (?:VPN )?accounts?"),
    ("supply-chain compromise", r"supply[- ]chain"),
    ("zero-day exploits", r"zero-?days?"),
    ("watering-hole attacks", r"watering[- ]holes?"),
    ("living off the land", r"living[- ]off[- ]the[- ]land"),
    ("DLL side-loading", r"side-?load\w*"),
    ("OAuth abuse", r"OAuth"),
    ("MFA fatigue", r"MFA (?:fatigue|bombing)|push bombing"),
    ("SIM swapping", r"SIM[- ]swap\w*"),
    ("help-desk social engineering", r"help ?desks?"),
    ("social engineering", r"social engineering|fake job (?:offers?|interviews?)"),
    ("web shells", r"web ?shells?"),
    ("wipers", r"wipers?"),
    ("DDoS", r"DDoS|denial[- ]of[- ]service"),
    ("router botnets", r"botnets?|hijacked routers"),
    ("data extortion", r"extortion|leak site"),
)
# (specific, general): the general technique is dropped when the specific one is named.
_NARROWER = (
    ("spear-phishing", "phishing"),
    ("help-desk social engineering", "social engineering"),
)
def _folded(pattern: str) -> re.Pattern[str]:
    """A case-insensitive pattern to search lower-cased text with: markedly faster than
    re.I on CPython. Upper-case escapes (\\S, \\W, \\B …) would change meaning when
    lowered, so none may be used."""
    assert not re.search(r"\\[A-Z]", pattern), pattern
    return re.compile(pattern.lower())


_TARGETING = _folded(
    r"\b(?:target\w*|attack\w*|breach\w*|compromis\w*|hit|hits|struck|victim\w*|intru\w*|"
    r"infiltrat\w*|hack\w*|spy\w*|phish\w*|lure\w*|against|disrupt\w*|approach\w*|"
    r"access to|inside|stole|steal\w*|theft|wiper)\b",
)
_MALWARE_KIND = (
    r"malware|backdoor|loader|dropper|implant|trojan|RAT|stealer|infostealer|wiper|botnet|"
    r"rootkit|spyware|web ?shell|downloader"
)
_MALWARE_AFTER = re.compile(
    rf"\b(?:{_MALWARE_KIND}|tool|strain|family|variant|payload)s?,?\s+(?:dubbed|called|named|"
    r"known as|tracked as)\s+[\"'\u201c\u2018]?([A-Z][\w.-]*[A-Za-z0-9])"
)
# Headline case too: "New HarvestWipe Malware Hits …".
_MALWARE_BEFORE = re.compile(rf"\b([A-Z][\w-]*[A-Za-z0-9])\s+(?i:{_MALWARE_KIND})s?\b")
_BRAND_SHAPE = re.compile(r".[A-Z0-9]")  # an inner capital or digit: GrapeVine, Moobot2
_MALWARE_STOP = frozenset((
    "the", "a", "an", "new", "this", "that", "its", "their", "same", "custom", "malicious",
    "android", "linux", "windows", "macos", "ios", "python", "rust", "go", "ransomware",
    "ddos", "iot", "mfa", "vpn", "oauth", "dll", "rmm",
))

_EXPLOITED = _folded(
    r"exploited in the wild|in-the-wild exploitation|actively exploit\w*|active exploitation|"
    r"under active (?:exploitation|attack)|(?:are|is|were|was|have been|has been)"
    r" (?:already |being |actively )*(?:exploit|abus)(?:ing|ed)\b|exploitation attempts|"
    r"Known Exploited Vulnerabilities|zero-?day (?:exploited|used|abused)",
)
_NOT_EXPLOITED = _folded(
    r"(?:not|no) (?:aware of|seen|observed|evidence of) (?:any )?(?:exploitation|attacks|"
    r"in-the-wild)|has not seen attacks|no (?:known )?exploitation",
)
_NO_PATCH = _folded(
    r"no (?:patch|fix)(?:es)? (?:is |are )?(?:yet |currently )?(?:available|yet)|"
    r"(?:has|have) not (?:yet )?(?:released|issued|shipped|published) (?:a |any )?"
    r"(?:patch|fix|update)|without a (?:patch|fix)|patch is not (?:yet )?available|"
    r"before a (?:patch|fix) (?:is|was) (?:available|released)|until a fix ships",
)
_VERSION = r"v?\d+(?:\.\d+)+(?:[-.]?[A-Za-z]+\d*(?:\.\d+)*)?"
_PATCHED_IN = re.compile(
    rf"(?:fixed|patched|addressed|resolved|corrected) in (?:versions?|releases?|builds?)?\s*"
    rf"({_VERSION})|(?:versions?|release) ({_VERSION}) (?:fixes|patches|addresses|resolves)|"
    rf"released \w+ ({_VERSION}) to fix",
    re.I,
)
_PATCHED = _folded(
    r"(?:released|issued|shipped|published|rolled out) (?:emergency |security )?"
    r"(?:patches|updates|fixes|a fix|a patch)|(?:has|have) (?:fixed|patched)|\bfixes\b",
)

# A sentence without any of these words states no exploitation or patch status.
_STATUS_HINT = _folded(r"exploit|abus|patch|fix|version|release|update|zero-?day|attack|issued")
# No leading \b: it stops the regex engine from scanning for the pattern's first
# letters, doubling the cost; _has_word checks the left edge instead.
_SECTOR_RES = [(label, _folded(rf"(?:{pat})\b")) for label, pat in _SECTORS]
_TECHNIQUE_RES = [(label, _folded(rf"(?:{pat})")) for label, pat in _TECHNIQUES]


@dataclass(slots=True)
class CveStatus:
    """What the text itself says about one CVE (or, keyed "", the story's flaw)."""

    exploited: bool = False
    not_exploited: bool = False
    no_patch: bool = False
    patched: bool = False
    fixed_in: list[str] = field(default_factory=list)

    def merge(self, other: CveStatus) -> None:
        self.exploited |= other.exploited
        self.not_exploited |= other.not_exploited
        self.no_patch |= other.no_patch
        self.patched |= other.patched
        self.fixed_in.extend(v for v in other.fixed_in if v not in self.fixed_in)


@dataclass(slots=True)
class StoryTerms:
    sectors: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)  # ISO codes
    malware: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)
    cves: list[str] = field(default_factory=list)
    status: dict[str, CveStatus] = field(default_factory=dict)  # CVE id (or "") → status

    def merge(self, other: StoryTerms) -> None:
        for name in ("sectors", "countries", "malware", "techniques", "cves"):
            mine: list[str] = getattr(self, name)
            mine.extend(v for v in getattr(other, name) if v not in mine)
        for cve, status in other.status.items():
            self.status.setdefault(cve, CveStatus()).merge(status)


def _has_word(pattern: re.Pattern[str], text: str) -> bool:
    """Whether ``pattern`` matches ``text`` starting at a word boundary."""
    pos = 0
    while (match := pattern.search(text, pos)) is not None:
        start = match.start()
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_"):
            return True
        pos = start + 1
    return False


def sector_labels(text: str) -> list[str]:
    """The sector labels a text names, in vocabulary order (also used to read the
    catalogue's own sector lists: "Government, Defense" → government, defence)."""
    return list(_sector_labels(text))


@lru_cache(maxsize=4096)  # catalogue sector lists are read again at every refresh
def _sector_labels(text: str) -> tuple[str, ...]:
    low = text.lower()
    return tuple(label for label, pattern in _SECTOR_RES if _has_word(pattern, low))


def _add(values: list[str], value: str) -> None:
    if value not in values:
        values.append(value)


MAX_TEXT = 20_000  # characters of an article scanned for terms


def article_terms(title: str, text: str, key_points: list[str]) -> StoryTerms:
    """The terms of one stored article: its title, the start of its text and its key
    points. Computed in the ingest worker for new articles (off the event loop) and on
    demand for older ones, from the same fields."""
    return extract_terms(title, "\n".join([text[:MAX_TEXT], *key_points]))


def extract_terms(title: str, text: str) -> StoryTerms:
    """The terms of one article. The caller removes what is its own subject (an actor's
    name read as malware, an actor's own country read as a target)."""
    terms = StoryTerms()
    sentences = [title, *split_sentences(text)]
    cves_in_text = find_cves(f"{title}\n{text}")
    terms.cves = list(cves_in_text)
    for sentence in sentences:
        low = sentence.lower()
        if _TARGETING.search(low):
            for label, pattern in _SECTOR_RES:
                if _has_word(pattern, low):
                    _add(terms.sectors, label)
            for code in countries_in(sentence):
                _add(terms.countries, code)
        for label, pattern in _TECHNIQUE_RES:
            if pattern.search(low):
                _add(terms.techniques, label)
        for name in _malware_names(sentence):
            if name.casefold() not in _MALWARE_STOP:
                _add(terms.malware, name)
        status = _status(sentence, low) if _STATUS_HINT.search(low) else None
        if status is not None:
            named = find_cves(sentence)
            keys = named or (cves_in_text if len(cves_in_text) == 1 else [""])
            for key in keys:
                terms.status.setdefault(key, CveStatus()).merge(status)
    for specific, general in _NARROWER:
        if specific in terms.techniques and general in terms.techniques:
            terms.techniques.remove(general)
    return terms


def _malware_names(sentence: str) -> list[str]:
    names = [m.group(1) for m in _MALWARE_AFTER.finditer(sentence)]
    for match in _MALWARE_BEFORE.finditer(sentence):
        name = match.group(1)
        # A plain capitalised word opening the sentence is more often "Destructive" or
        # "Custom" than a name; a country adjective ("Russian backdoor") never is one.
        if match.start() == 0 and not _BRAND_SHAPE.search(name):
            continue
        if country_code(name):
            continue
        names.append(name)
    return [n.rstrip(".,") for n in names]


def _status(sentence: str, low: str) -> CveStatus | None:
    """What one sentence states (``low`` is the sentence lower-cased)."""
    not_exploited = bool(_NOT_EXPLOITED.search(low))
    status = CveStatus(
        exploited=not not_exploited and bool(_EXPLOITED.search(low)),
        not_exploited=not_exploited,
        no_patch=bool(_NO_PATCH.search(low)),
    )
    for match in _PATCHED_IN.finditer(sentence):  # the original case: "22.7R2.8"
        _add(status.fixed_in, next(g for g in match.groups() if g))
    status.patched = bool(status.fixed_in) or (not status.no_patch and bool(_PATCHED.search(low)))
    if status.exploited or status.not_exploited or status.no_patch or status.patched:
        return status
    return None
