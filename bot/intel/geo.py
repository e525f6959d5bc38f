"""Countries as security news names them: ISO code → short name, and the names and
adjectives ("Ukrainian", "South Korean") that point at one in a sentence.

A hand-kept table of the countries that appear in threat reporting, not all of ISO 3166;
an unknown code is shown as the code itself.
"""

from __future__ import annotations

import re

# code: (short name, adjective(s) and other names that denote it in running text)
_COUNTRIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "AE": ("the UAE", ("United Arab Emirates", "Emirati", "UAE")),
    "AM": ("Armenia", ("Armenian",)),
    "AU": ("Australia", ("Australian",)),
    "AT": ("Austria", ("Austrian",)),
    "AZ": ("Azerbaijan", ("Azerbaijani",)),
    "BE": ("Belgium", ("Belgian",)),
    "BR": ("Brazil", ("Brazilian",)),
    "BY": ("Belarus", ("Belarusian",)),
    "CA": ("Canada", ("Canadian",)),
    "CH": ("Switzerland", ("Swiss",)),
    "CN": ("China", ("Chinese", "PRC")),
    "CZ": ("Czechia", ("Czech Republic", "Czech")),
    "DE": ("Germany", ("German",)),
    "DK": ("Denmark", ("Danish",)),
    "EE": ("Estonia", ("Estonian",)),
    "EG": ("Egypt", ("Egyptian",)),
    "ES": ("Spain", ("Spanish",)),
    "FI": ("Finland", ("Finnish",)),
    "FR": ("France", ("French",)),
    "GB": ("the UK", ("United Kingdom", "Britain", "British", "UK", "U.K.")),
    "GE": ("Georgia", ()),
    "GR": ("Greece", ("Greek",)),
    "GU": ("Guam", ()),
    "HK": ("Hong Kong", ()),
    "HU": ("Hungary", ("Hungarian",)),
    "ID": ("Indonesia", ("Indonesian",)),
    "IE": ("Ireland", ("Irish",)),
    "IL": ("Israel", ("Israeli",)),
    "IN": ("India", ("Indian",)),
    "IQ": ("Iraq", ("Iraqi",)),
    "IR": ("Iran", ("Iranian",)),
    "IT": ("Italy", ("Italian",)),
    "JP": ("Japan", ("Japanese",)),
    "KP": ("North Korea", ("North Korean", "DPRK")),
    "KR": ("South Korea", ("South Korean",)),
    "KZ": ("Kazakhstan", ("Kazakh",)),
    "LB": ("Lebanon", ("Lebanese",)),
    "LT": ("Lithuania", ("Lithuanian",)),
    "LV": ("Latvia", ("Latvian",)),
    "MD": ("Moldova", ("Moldovan",)),
    "MX": ("Mexico", ("Mexican",)),
    "MY": ("Malaysia", ("Malaysian",)),
    "NL": ("the Netherlands", ("Netherlands", "Dutch")),
    "NO": ("Norway", ("Norwegian",)),
    "NZ": ("New Zealand", ()),
    "PH": ("the Philippines", ("Philippines", "Philippine", "Filipino")),
    "PK": ("Pakistan", ("Pakistani",)),
    "PL": ("Poland", ("Polish",)),
    "PS": ("Palestine", ("Palestinian",)),
    "PT": ("Portugal", ("Portuguese",)),
    "RO": ("Romania", ("Romanian",)),
    "RS": ("Serbia", ("Serbian",)),
    "RU": ("Russia", ("Russian", "Russian Federation")),
    "SA": ("Saudi Arabia", ("Saudi",)),
    "SE": ("Sweden", ("Swedish",)),
    "SG": ("Singapore", ("Singaporean",)),
    "SK": ("Slovakia", ("Slovak",)),
    "SY": ("Syria", ("Syrian",)),
    "TH": ("Thailand", ("Thai",)),
    "TR": ("Turkey", ("Türkiye", "Turkish")),
    "TW": ("Taiwan", ("Taiwanese",)),
    "UA": ("Ukraine", ("Ukrainian",)),
    "US": ("the US", ("United States", "U.S.", "US", "American", "America")),
    "VN": ("Vietnam", ("Vietnamese",)),
}

_BY_WORD: dict[str, str] = {}  # casefolded name or adjective → code
_AS_WRITTEN: dict[str, str] = {}  # the capitalised form running text uses → code
for _code, (_short, _others) in _COUNTRIES.items():
    for _word in (_short.removeprefix("the "), *_others):
        _BY_WORD[_word.casefold()] = _code
        _AS_WRITTEN[_word] = _code
# Case-sensitive (a country name in running text is capitalised, and "us" is a pronoun
# where "US" is a country); longest first, so "South Korean" wins over "Korean".
_PATTERN = re.compile(
    r"(?<![\w.])("
    + "|".join(re.escape(w) for w in sorted(_AS_WRITTEN, key=len, reverse=True))
    + r")(?!\w)"
)
_BY_NAME = {short.removeprefix("the ").casefold(): code for code, (short, _) in _COUNTRIES.items()}


def country_label(code: str | None) -> str | None:
    """The short name of an ISO alpha-2 code ("RU" → "Russia"); the code when unknown."""
    if not code:
        return None
    entry = _COUNTRIES.get(code.strip().upper())
    return entry[0] if entry else code.strip().upper()


def country_code(name: str) -> str | None:
    """The code a country name or adjective denotes ("Ukrainian" → "UA"), or None."""
    return _BY_WORD.get(name.strip().removeprefix("the ").casefold()) or _BY_NAME.get(
        name.strip().casefold()
    )


def countries_in(text: str) -> list[str]:
    """Codes of the countries a text names, in order of first mention. Only the forms
    running text uses count ("us" is a pronoun, "US" a country)."""
    found: list[str] = []
    for match in _PATTERN.finditer(text):
        code = _AS_WRITTEN[match.group(1)]
        if code not in found:
            found.append(code)
    return found
