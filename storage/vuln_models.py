"""Vulnerability context records: what CISA KEV, FIRST EPSS and NVD say about a CVE.

Plain dataclasses returned by ``storage.vulns`` and read by every surface; each part is
``None`` when its source has no data (switched off, not fetched yet, or the CVE is
unknown to it), which every surface shows as "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class KevEntry:
    """One row of CISA's Known Exploited Vulnerabilities catalogue."""

    cve: str
    vendor: str  # vendorProject
    product: str
    name: str  # vulnerabilityName
    date_added: date
    due_date: date | None
    required_action: str
    known_ransomware: bool  # knownRansomwareCampaignUse == "Known"
    description: str = ""  # shortDescription


@dataclass(frozen=True, slots=True)
class EpssScore:
    cve: str
    score: float  # probability of exploitation activity in the next 30 days, 0–1
    percentile: float  # 0–1
    date: date  # the model's score date


@dataclass(frozen=True, slots=True)
class CvssScore:
    cve: str
    score: float  # base score, 0–10
    severity: str  # NONE | LOW | MEDIUM | HIGH | CRITICAL
    vector: str  # e.g. CVSS:3.1/AV:N/AC:L/...
    source: str = "nvd"  # nvd | article (scored offline from a printed vector)
    description: str = ""  # NVD's English description, when from NVD


@dataclass(frozen=True, slots=True)
class CveContext:
    """Everything known about one CVE; any part may be None."""

    id: str
    kev: KevEntry | None = None
    epss: EpssScore | None = None
    cvss: CvssScore | None = None

    @property
    def known_exploited(self) -> bool:
        return self.kev is not None


@dataclass(slots=True)
class VulnSourceStatus:
    """One data source's state, for `secbrief vulns status` and refresh reports."""

    source: str  # kev | epss | nvd
    enabled: bool
    url: str | None
    last_success: datetime | None = None
    last_error: str | None = None
    data_date: date | None = None  # KEV catalogVersion/dateReleased, EPSS score_date
    next_refresh: datetime | None = None
    records: int = 0
    extra: dict[str, object] = field(default_factory=dict)
    failures: int = 0  # failed refreshes in a row
    last_attempt: datetime | None = None
    etag: str | None = None  # validators for the next conditional GET
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class KevDiff:
    """What a KEV load changed. On the very first load (an empty catalogue before it)
    nothing counts as added — ``first_load`` is True and ``added`` empty."""

    added: list[KevEntry]
    removed: list[str]
    total: int
    first_load: bool


@dataclass(frozen=True, slots=True)
class EpssDiff:
    """What an EPSS load changed: ``crossed`` holds the CVEs whose score rose to the
    alert threshold or above (empty without a threshold, and on the very first load)."""

    total: int
    crossed: list[EpssScore]
    first_load: bool = False
