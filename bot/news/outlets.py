"""Outlet display names for sources: "Securityweek.com" / a URL / "bleeping computer"."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["source_name"]

_OUTLETS: dict[str, str] = {
    "securityweek.com": "SecurityWeek",
    "bleepingcomputer.com": "BleepingComputer",
    "thehackernews.com": "The Hacker News",
    "therecord.media": "The Record",
    "krebsonsecurity.com": "Krebs on Security",
    "darkreading.com": "Dark Reading",
    "arstechnica.com": "Ars Technica",
    "wired.com": "WIRED",
    "reuters.com": "Reuters",
    "theregister.com": "The Register",
    "theregister.co.uk": "The Register",
    "cyberscoop.com": "CyberScoop",
    "securityaffairs.com": "Security Affairs",
    "securityaffairs.co": "Security Affairs",
    "helpnetsecurity.com": "Help Net Security",
    "infosecurity-magazine.com": "Infosecurity Magazine",
    "zdnet.com": "ZDNET",
    "techcrunch.com": "TechCrunch",
    "hackread.com": "HackRead",
    "theverge.com": "The Verge",
    "bankinfosecurity.com": "BankInfoSecurity",
    "csoonline.com": "CSO Online",
    "scmagazine.com": "SC Media",
    "cybersecuritydive.com": "Cybersecurity Dive",
    "databreaches.net": "DataBreaches.net",
    "schneier.com": "Schneier on Security",
    "cisa.gov": "CISA",
    "ncsc.gov.uk": "NCSC",
    "microsoft.com": "Microsoft",
    "blog.google": "Google",
    "tripwire.com": "Tripwire",
    "nccgroup.com": "NCC Group",
    "research.nccgroup.com": "NCC Group",
}
_OUTLET_NAMES = {name.lower(): name for name in _OUTLETS.values()} | {
    "securityweek": "SecurityWeek",
    "bleeping computer": "BleepingComputer",
    "hacker news": "The Hacker News",
    "thehackernews": "The Hacker News",
    "the record by recorded future": "The Record",
}
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$", re.IGNORECASE)


def source_name(value: str | None) -> str | None:
    """Outlet display name for "Securityweek.com", "https://www.darkreading.com/…",
    "bleeping computer" …; an unknown domain falls back to the bare domain."""
    v = (value or "").strip().strip(".,;").strip()
    if not v:
        return None
    host: str | None = None
    if re.match(r"^[a-z][a-z0-9+.-]*://", v, re.IGNORECASE):
        host = urlsplit(v).hostname
    elif _DOMAIN.match(v.split("/", 1)[0]):
        host = v.split("/", 1)[0]
    if host:
        host = host.lower().removeprefix("www.")
        if host in _OUTLETS:
            return _OUTLETS[host]
        # A subdomain of a known outlet ("news.sophos.com" is not known, but
        # "feeds.bleepingcomputer.com" is).
        parts = host.split(".")
        for i in range(1, len(parts) - 1):
            parent = ".".join(parts[i:])
            if parent in _OUTLETS:
                return _OUTLETS[parent]
        return host
    return _OUTLET_NAMES.get(v.lower(), v)
