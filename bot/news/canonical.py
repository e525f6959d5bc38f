"""Canonical article URLs: the same story shared with different tracking tags is one URL."""

from __future__ import annotations

from urllib.parse import unquote_plus, urlsplit, urlunsplit

# Exact parameter names (compared case-insensitively) that only track the click.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "ttclid", "li_fat_id", "igshid", "mc_cid", "mc_eid", "_hsenc", "_hsmi",
        "__hssc", "__hstc", "__hsfp", "hsctatracking", "mkt_tok", "ref", "ref_src",
        "ref_url", "cmpid", "cmp", "ncid", "ocid", "spm", "s_cid", "sr_share", "soc_src",
        "soc_trk", "icid", "intcmp", "vero_id", "oly_anon_id", "oly_enc_id", "rb_clickid",
        "wt.mc_id", "at_medium", "at_campaign", "guccounter", "guce_referrer",
        "guce_referrer_sig", "_ga", "_gl", "s_kwcid", "smid", "__twitter_impression",
    }
)
# Parameter-name prefixes that only track (utm_source, pk_campaign, mtm_kwd…).
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "matomo_", "hsa_")

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def is_tracking_param(name: str) -> bool:
    key = unquote_plus(name).strip().lower()
    return key in TRACKING_PARAMS or key.startswith(TRACKING_PREFIXES)


def _netloc(scheme: str, netloc: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]") + 1 or len(hostport)
        host, port = hostport[:end], hostport[end:].removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    host = host.lower().rstrip(".")
    if port.isdigit() and port.lstrip("0") == _DEFAULT_PORTS.get(scheme):
        port = ""
    return f"{userinfo}{at}{host}:{port}" if port else f"{userinfo}{at}{host}"


def canonical_url(url: str) -> str:
    """Normalise an article URL for de-duplication; idempotent.

    Lower-cases scheme and host, drops default ports, the fragment and tracking
    parameters (utm_*, fbclid, gclid, ref, …), keeps other parameters in their
    original order and encoding, removes an empty query, and turns an empty path
    into "/". Strings that are not absolute URLs come back stripped, otherwise as is.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc:
        return url
    netloc = _netloc(scheme, parts.netloc)
    path = parts.path or "/"
    kept = [
        piece
        for piece in parts.query.split("&")
        if piece and not is_tracking_param(piece.split("=", 1)[0])
    ]
    return urlunsplit((scheme, netloc, path, "&".join(kept), ""))
