"""Generated KEV catalogues and EPSS files of any size, for the vulnerability tests."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Callable

from bot.news.fetch import Fetcher, FetchLimits, make_session
from bot.services.vulns import VulnService, VulnSources
from storage.store import Store
from tests.conftest import Clock

CAP = 2_000_000
JSON = "application/json"
GZ = "application/gzip"


def kev_json(count: int) -> bytes:
    return json.dumps({
        "catalogVersion": "2026.03.01", "dateReleased": "2026-03-01T17:00:00.000Z",
        "count": count,
        "vulnerabilities": [{
            "cveID": f"CVE-2025-{10000 + n}", "vendorProject": "Acme", "product": f"Gate {n}",
            "vulnerabilityName": f"Acme Gate {n} flaw", "dateAdded": "2025-06-01",
            "shortDescription": "A test entry.", "requiredAction": "Patch.",
            "dueDate": "2025-06-22", "knownRansomwareCampaignUse": "Unknown",
        } for n in range(count)],
    }).encode()


def epss_gz(count: int, *, score: float = 0.5) -> bytes:
    lines = ["#model_version:v2025.03.14,score_date:2026-03-01T00:00:00+0000",
             "cve,epss,percentile"]
    lines += [f"CVE-2025-{10000 + n},{score:.5f},0.50000" for n in range(count)]
    return gzip.compress(("\n".join(lines) + "\n").encode())


MakeVulns = Callable[..., VulnService]


async def vuln_maker(clock: Clock) -> AsyncIterator[MakeVulns]:
    """make(store, kev=url, epss=url, nvd=url, worker=…) -> a VulnService on that store
    fetching from 127.0.0.1 (one session for all of them, closed at the end)."""
    limits = FetchLimits(read_timeout=5, total_timeout=10, max_bytes=CAP)
    session = make_session(limits, allow_private=True)
    fetcher = Fetcher(session, limits, allow_private=True)

    def make(store: Store, *, kev: str | None = None, epss: str | None = None,
             nvd: str | None = None, **options) -> VulnService:
        sources = VulnSources(kev_url=kev, epss_url=epss, nvd_url=nvd, max_bytes=CAP)
        return VulnService(store, fetcher=fetcher, sources=sources, clock=clock, **options)

    yield make
    await session.close()
