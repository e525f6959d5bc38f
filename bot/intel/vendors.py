"""Match security-relevant vendors and products named in text.

A curated list, matched token by token (fast, and word boundaries come for free).
Names that are also ordinary words ("Apple", "Zoom", "Edge", "Slack", "Windows", "Oracle")
only match in their exact case, and a few carry context rules ("Future Outlook:" is not
the mail client, "edge devices" are not the browser).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from storage.vuln_names import normalise_name

# canonical name, parent vendor (or None), aliases. An alias prefixed with "=" matches only
# in exactly that case; the canonical name is always an alias too (case-insensitive unless
# it is listed with "=").
_CATALOGUE: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("Microsoft", None, ("MSFT",)),
    ("Windows", "Microsoft", ("=Windows", "Microsoft Windows", "Windows Server")),
    ("Microsoft Exchange", "Microsoft", ("Exchange Server", "Exchange Servers",
                                         "Exchange Online", "MS Exchange")),
    ("Outlook", "Microsoft", ("=Outlook", "Microsoft Outlook")),
    ("Azure", "Microsoft", ("Microsoft Azure",)),
    ("Microsoft Entra ID", "Microsoft", ("Entra ID", "Azure AD", "Azure Active Directory")),
    ("Microsoft Edge", "Microsoft", ("=Edge",)),
    ("SharePoint", "Microsoft", ("Microsoft SharePoint",)),
    ("Microsoft Teams", "Microsoft", ()),
    ("Microsoft 365", "Microsoft", ("Office 365", "M365")),
    ("Microsoft Office", "Microsoft", ("MS Office",)),
    ("Cisco", None, ("Cisco Systems",)),
    ("Cisco IOS XE", "Cisco", ("IOS XE",)),
    ("Cisco ASA", "Cisco", ()),
    ("Fortinet", None, ()),
    ("FortiOS", "Fortinet", ()),
    ("FortiGate", "Fortinet", ()),
    ("FortiManager", "Fortinet", ()),
    ("FortiWeb", "Fortinet", ()),
    ("FortiClient", "Fortinet", ("FortiClientEMS",)),
    ("Ivanti", None, ()),
    ("Ivanti Connect Secure", "Ivanti", ("Connect Secure", "Pulse Secure")),
    ("Citrix", None, ()),
    ("NetScaler", "Citrix", ("Citrix NetScaler",)),
    ("Palo Alto Networks", None, ("=Palo Alto",)),
    ("PAN-OS", "Palo Alto Networks", ()),
    ("GlobalProtect", "Palo Alto Networks", ()),
    ("VMware", None, ()),
    ("VMware vCenter", "VMware", ("vCenter", "vCenter Server")),
    ("VMware ESXi", "VMware", ("ESXi",)),
    ("Broadcom", None, ()),
    ("Apple", None, ("=Apple",)),
    ("iOS", "Apple", ("=iOS", "=iPadOS")),
    ("macOS", "Apple", ("=Mac OS X",)),
    ("iPhone", "Apple", ()),
    ("Safari", "Apple", ("=Safari",)),
    ("WebKit", "Apple", ()),
    ("Google", None, ()),
    ("Chrome", "Google", ("=Chrome", "Google Chrome")),
    ("Chromium", "Google", ()),
    ("Android", "Google", ()),
    ("Gmail", "Google", ()),
    ("Google Cloud", "Google", ("GCP",)),
    ("Oracle", None, ("=Oracle",)),
    ("Oracle WebLogic", "Oracle", ("WebLogic", "WebLogic Server")),
    ("SAP", None, ("=SAP",)),
    ("SAP NetWeaver", "SAP", ("NetWeaver",)),
    ("Atlassian", None, ()),
    ("Confluence", "Atlassian", ("Atlassian Confluence",)),
    ("Jira", "Atlassian", ("Atlassian Jira",)),
    ("Bitbucket", "Atlassian", ()),
    ("GitLab", None, ()),
    ("GitHub", None, ()),
    ("Okta", None, ()),
    ("CrowdStrike", None, ()),
    ("SonicWall", None, ()),
    ("Juniper Networks", None, ("=Juniper",)),
    ("Junos OS", "Juniper Networks", ("Junos",)),
    ("F5", None, ("=F5", "F5 Networks")),
    ("BIG-IP", "F5", ("F5 BIG-IP",)),
    ("Zyxel", None, ()),
    ("Progress Software", None, ()),
    ("MOVEit", "Progress Software", ("MOVEit Transfer",)),
    ("Veeam", None, ()),
    ("BeyondTrust", None, ()),
    ("SolarWinds", None, ()),
    ("Barracuda Networks", None, ("Barracuda",)),
    ("Check Point", None, ("=Check Point", "Check Point Software")),
    ("WordPress", None, ()),
    ("Apache", None, ("Apache Software Foundation",)),
    ("Log4j", "Apache", ("Log4Shell", "Apache Log4j")),
    ("Apache Tomcat", "Apache", ("=Tomcat",)),
    ("Apache Struts", "Apache", ()),
    ("Linux", None, ("Linux kernel",)),
    ("Cloudflare", None, ()),
    ("Adobe", None, ()),
    ("Adobe ColdFusion", "Adobe", ("ColdFusion",)),
    ("Mozilla", None, ()),
    ("Firefox", "Mozilla", ("Mozilla Firefox",)),
    ("Thunderbird", "Mozilla", ("=Thunderbird",)),
    ("Samsung", None, ()),
    ("Qualcomm", None, ()),
    ("Intel", None, ("=Intel",)),
    ("AMD", None, ("=AMD", "Advanced Micro Devices")),
    ("NVIDIA", None, ()),
    ("Zoom", None, ("=Zoom", "Zoom Video Communications")),
    ("Slack", None, ("=Slack",)),
    ("Salesforce", None, ()),
    ("Snowflake", None, ("=Snowflake",)),
    ("AWS", "Amazon", ("Amazon Web Services",)),
    ("Amazon", None, ("=Amazon",)),
    ("ConnectWise", None, ()),
    ("ScreenConnect", "ConnectWise", ("ConnectWise ScreenConnect",)),
    ("Kaseya", None, ()),
    ("Cleo", None, ("=Cleo",)),
    ("D-Link", None, ()),
    ("TP-Link", None, ()),
    ("Netgear", None, ()),
    ("QNAP", None, ()),
    ("Synology", None, ()),
    ("Ubiquiti", None, ()),
    ("Hikvision", None, ()),
    ("OpenSSL", None, ()),
    ("OpenSSH", None, ()),
    ("Docker", None, ()),
    ("Kubernetes", None, ()),
    ("Jenkins", None, ()),
    ("IBM", None, ("=IBM",)),
    ("Hewlett Packard Enterprise", None, ("=HPE",)),
    ("Dell", None, ("=Dell",)),
    ("Lenovo", None, ()),
    ("Siemens", None, ()),
    ("Schneider Electric", None, ()),
    ("Rockwell Automation", None, ()),
    ("Sophos", None, ()),
    ("Trend Micro", None, ()),
    ("ESET", None, ("=ESET",)),
    ("Kaspersky", None, ()),
    ("SentinelOne", None, ()),
    ("Zimbra", None, ()),
    ("Roundcube", None, ()),
    ("WhatsApp", None, ()),
    ("Telegram", None, ()),
)

# Context rules: lower-case neighbouring words that veto an exact-case match.
_NOT_BEFORE: dict[str, frozenset[str]] = {
    # "Future Outlook:", "Economic Outlook", "threat outlook"
    "Outlook": frozenset((
        "future", "economic", "financial", "threat", "market", "stable", "positive", "negative",
        "global", "business", "industry", "annual", "security", "cyber", "cybersecurity", "term",
        "short", "long", "near"
    )),
    "Intel": frozenset(("threat", "cyber", "open", "source", "osint", "signals")),
    "Edge": frozenset(("service", "cutting", "leading", "network")),
    "Windows": frozenset((
        "maintenance", "time", "remediation", "exploitation", "disclosure", "narrow", "tight",
        "shrinking",
    )),
}
_NOT_AFTER: dict[str, frozenset[str]] = {
    "Edge": frozenset((
        "device", "devices", "computing", "network", "networks", "router", "routers", "appliance",
        "appliances", "server", "servers", "case", "cases", "location", "locations",
        "infrastructure", "security", "system", "systems", "node", "nodes", "gateway", "gateways",
        "firewall", "firewalls"
    )),
    "Palo Alto": frozenset(("california", "calif", "ca", "city")),
    # "Patch Windows Are Shrinking", "windows of opportunity"
    "Windows": frozenset(("of", "are", "were", "shrink", "shrinking", "closing")),
}
_NO_COLON_AFTER = frozenset({"Outlook"})  # "Outlook:" as a section label

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:&[A-Za-z0-9]+)*")
# What may sit between the tokens of a multi-word name: spaces, one hyphen or dot.
_JOINER = re.compile(r"\s{1,3}|[-.]|\s?-\s?")


@dataclass(frozen=True, slots=True)
class _Alias:
    tokens: tuple[str, ...]  # as written (for exact-case aliases) or lower-cased
    exact: bool
    canonical: str
    raw: str


@dataclass(slots=True)
class _Index:
    by_first: dict[str, list[_Alias]] = field(default_factory=dict)
    by_name: dict[tuple[str, ...], str] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)
    by_fold: dict[str, str] = field(default_factory=dict)  # normalise_name key -> name


def _tokens(s: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(s))


def _build() -> _Index:
    idx = _Index()
    for canonical, parent, aliases in _CATALOGUE:
        if parent:
            idx.parents[canonical] = parent
        names = list(aliases)
        if not any(a.lstrip("=").lower() == canonical.lower() for a in names):
            names.append(canonical)
        for alias in names:
            exact = alias.startswith("=")
            raw = alias.lstrip("=")
            toks = _tokens(raw)
            if not toks:
                continue
            key = tuple(t.lower() for t in toks)
            idx.by_name.setdefault(key, canonical)
            idx.by_fold.setdefault(normalise_name(raw), canonical)
            entry = _Alias(toks if exact else key, exact, canonical, raw)
            idx.by_first.setdefault(key[0], []).append(entry)
    for entries in idx.by_first.values():
        entries.sort(key=lambda a: -len(a.tokens))  # longest name wins
    return idx


_INDEX = _build()

VENDORS: tuple[str, ...] = tuple(c for c, _, _ in _CATALOGUE)
VENDOR_PARENT: dict[str, str] = dict(_INDEX.parents)


def _context_ok(alias: _Alias, text: str, spans: list[tuple[int, int]],
                lowers: list[str], i: int, k: int) -> bool:
    raw = alias.raw
    if raw in _NOT_BEFORE and i > 0 and lowers[i - 1] in _NOT_BEFORE[raw]:
        return False
    if raw in _NOT_AFTER and i + k < len(lowers) and lowers[i + k] in _NOT_AFTER[raw]:
        return False
    if raw in _NO_COLON_AFTER:
        end = spans[i + k - 1][1]
        if text[end:end + 1] == ":":
            return False
    return True


def find_vendors(text: str, *, with_parents: bool = False) -> list[str]:
    """Canonical vendor/product names named in ``text``, deduplicated, in first-seen order.

    With ``with_parents`` a product is followed by its vendor ("Windows", "Microsoft"), which
    is what a vendor subscription should match against.
    """
    if not text:
        return []
    matches = list(_TOKEN.finditer(text))
    words = [m.group(0) for m in matches]
    lowers = [w.lower() for w in words]
    spans = [m.span() for m in matches]
    by_first = _INDEX.by_first
    found: dict[str, None] = {}
    i, n = 0, len(words)
    while i < n:
        candidates = by_first.get(lowers[i])
        if not candidates:
            i += 1
            continue
        step = 1
        for alias in candidates:
            k = len(alias.tokens)
            if i + k > n:
                continue
            seq = words[i:i + k] if alias.exact else lowers[i:i + k]
            if tuple(seq) != alias.tokens:
                continue
            if k > 1 and not all(
                _JOINER.fullmatch(text[spans[j][1]:spans[j + 1][0]]) for j in range(i, i + k - 1)
            ):
                continue
            if not _context_ok(alias, text, spans, lowers, i, k):
                continue
            found.setdefault(alias.canonical, None)
            if with_parents:
                parent = _INDEX.parents.get(alias.canonical)
                while parent:
                    found.setdefault(parent, None)
                    parent = _INDEX.parents.get(parent)
            step = k
            break
        i += step
    return list(found)


def canonical_vendor(name: str) -> str | None:
    """Canonical name for user input such as "palo alto", "moveit", "Exchange Server" or
    "paloaltonetworks" (spacing, punctuation and legal forms do not matter).

    Case-insensitive (the user means the vendor even when typing "apple"); None if unknown.
    """
    key = tuple(t.lower() for t in _tokens(name or ""))
    if not key:
        return None
    return _INDEX.by_name.get(key) or _INDEX.by_fold.get(normalise_name(name))


def vendor_key(name: str) -> str:
    """The one key every spelling of a vendor or product shares, so "Palo Alto", "Palo
    Alto Networks", "paloaltonetworks" and KEV's vendorProject "Palo Alto Networks" are
    one vendor: the catalogue's canonical name when it knows the name (its aliases:
    "Exchange Server" = "Microsoft Exchange"), folded by storage.vuln_names'
    normalise_name (letters and digits, legal forms and "Networks"-like endings
    dropped). "" for a name with no letters or digits."""
    return normalise_name(canonical_vendor(name) or name or "")


def vendor_display(name: str) -> str:
    """How a vendor or product name is shown: the catalogue's canonical name, else the
    name with its spacing tidied."""
    return canonical_vendor(name) or " ".join((name or "").split())


def with_parents(names: list[str] | tuple[str, ...]) -> list[str]:
    """The names followed by their vendors ("PAN-OS" → "PAN-OS", "Palo Alto Networks")."""
    found: dict[str, None] = {}
    for name in names:
        found.setdefault(name, None)
        parent = _INDEX.parents.get(name)
        while parent:
            found.setdefault(parent, None)
            parent = _INDEX.parents.get(parent)
    return list(found)


def suggest_vendors(name: str, limit: int = 5) -> list[str]:
    """Closest catalogue names for an unknown vendor (for a helpful error message)."""
    from rapidfuzz import fuzz, process

    hits = process.extract(name, VENDORS, scorer=fuzz.WRatio, limit=limit, score_cutoff=60)
    return [h[0] for h in hits]
