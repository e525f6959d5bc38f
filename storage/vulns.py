"""Vulnerability context: KEV entries, EPSS scores, CVSS scores and the sources' state.

``context(ids)`` answers every surface in one query. ``replace_kev`` and
``replace_epss`` swap in a whole new catalogue and say what changed against the
previous one (the alerts build on that); the EPSS load streams its rows through a
staging table, so neither the new nor the old 300,000 scores are held in Python. Both
take a ``guard``, called inside the load's transaction with the new and the held count
before anything changes: raising refuses the load (a truncated file, say).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime

from storage.db import Database, Transaction, execute_write, write_lock
from storage.timeutil import from_db, to_db, utcnow
from storage.vuln_models import (
    CveContext,
    CvssScore,
    EpssDiff,
    EpssScore,
    KevDiff,
    KevEntry,
    VulnSourceStatus,
)
from storage.vuln_names import normalise_name

LoadGuard = Callable[[int, int], None]  # (new records, held records); raises to refuse

EPSS_CHUNK = 20_000  # rows per staging transaction: other writers get a turn between

_KEV_COLUMNS = (
    "cve, vendor, product, name, date_added, due_date, required_action, known_ransomware,"
    " description, vendor_norm, product_norm"
)
_STAGING = "epss_staging_"  # + "<pid>_<n>": one table per load in progress
_STAGING_NAME = re.compile(r"epss_staging_\d+_\d+")
_loads = itertools.count(1)
_EPSS_STAGING = {  # {name}: the load's own staging table
    "sqlite": "CREATE TABLE {name} (cve TEXT PRIMARY KEY, score REAL NOT NULL,"
              " percentile REAL NOT NULL) WITHOUT ROWID",
    "postgres": "CREATE TABLE {name} (cve TEXT PRIMARY KEY,"
                " score DOUBLE PRECISION NOT NULL, percentile DOUBLE PRECISION NOT NULL)",
}


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
_KEV_UPDATE = ", ".join(
    f"{c} = excluded.{c}" for c in (c.strip() for c in _KEV_COLUMNS.split(",")) if c != "cve"
)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _kev_row(entry: KevEntry) -> tuple[object, ...]:
    return (
        entry.cve, entry.vendor, entry.product, entry.name, entry.date_added.isoformat(),
        entry.due_date.isoformat() if entry.due_date else None, entry.required_action,
        int(entry.known_ransomware), entry.description, normalise_name(entry.vendor),
        normalise_name(entry.product),
    )


def _kev(row: Sequence[object], offset: int = 0) -> KevEntry:
    r = row[offset: offset + 9]
    return KevEntry(
        cve=str(r[0]), vendor=str(r[1]), product=str(r[2]), name=str(r[3]),
        date_added=date.fromisoformat(str(r[4])), due_date=_day(r[5]),  # type: ignore[arg-type]
        required_action=str(r[6]), known_ransomware=bool(r[7]), description=str(r[8]),
    )


class _Counted:
    """An iterator that counts what it hands out (executemany consumes it in
    aiosqlite's thread, so the parsing behind it runs off the event loop too)."""

    def __init__(self, rows: Iterable[tuple[str, float, float]]) -> None:
        self._rows = iter(rows)
        self.count = 0

    def take(self, n: int) -> Iterator[tuple[str, float, float]]:
        for row in itertools.islice(self._rows, n):
            self.count += 1
            yield row


class VulnRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- reading ---------------------------------------------------------------------
    async def context(self, ids: Sequence[str]) -> dict[str, CveContext]:
        """Everything known about each id, keyed by the id as given (every id is in
        the result; unknown parts are None). Ids are looked up upper-cased."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        keys = list(dict.fromkeys(i.strip().upper() for i in wanted))
        values = ",".join("(?)" for _ in keys)
        sql = (
            f"WITH ids(cve) AS (VALUES {values}) SELECT ids.cve,"
            " k.cve, k.vendor, k.product, k.name, k.date_added, k.due_date,"
            " k.required_action, k.known_ransomware, k.description,"
            " e.score, e.percentile,"
            " c.score, c.severity, c.vector, c.source, c.description,"
            " (SELECT data_date FROM vuln_sources WHERE source = 'epss')"
            " FROM ids LEFT JOIN kev k ON k.cve = ids.cve"
            " LEFT JOIN epss e ON e.cve = ids.cve LEFT JOIN cvss c ON c.cve = ids.cve"
        )
        found: dict[str, CveContext] = {}
        # fetchall: one hop to the connection's thread instead of three
        for row in await self._db.fetchall(sql, keys):
            cve = row[0]
            epss_date = _day(row[17])
            found[cve] = CveContext(
                id=cve,
                kev=_kev(row, 1) if row[1] is not None else None,
                epss=(EpssScore(cve, row[10], row[11], epss_date)
                      if row[10] is not None and epss_date else None),
                cvss=(CvssScore(cve, row[12], row[13], row[14], row[15], row[16])
                      if row[12] is not None else None),
            )
        return {i: found[i.strip().upper()] for i in wanted}

    async def context_one(self, cve: str) -> CveContext:
        return (await self.context([cve]))[cve]

    async def kev_vendors_products(self) -> list[tuple[str, str]]:
        """Every (vendor, product) pair in the KEV catalogue, sorted case-insensitively."""
        async with self._db.execute(
            "SELECT vendor, product FROM kev GROUP BY vendor, product"
            " ORDER BY lower(vendor), lower(product)"
        ) as cur:
            return [(row[0], row[1]) for row in await cur.fetchall()]

    async def kev_count(self) -> int:
        async with self._db.execute("SELECT count(*) FROM kev") as cur:
            return (await cur.fetchone())[0]

    async def epss_count(self) -> int:
        async with self._db.execute("SELECT count(*) FROM epss") as cur:
            return (await cur.fetchone())[0]

    async def cvss_count(self, *, source: str | None = None) -> int:
        async with self._db.execute(
            "SELECT count(*) FROM cvss WHERE CAST(? AS TEXT) IS NULL OR source = ?",
            (source, source),
        ) as cur:
            return (await cur.fetchone())[0]

    # -- KEV ---------------------------------------------------------------------------
    async def replace_kev(
        self, entries: Sequence[KevEntry], *, now: datetime, guard: LoadGuard | None = None
    ) -> KevDiff:
        """Make ``entries`` the catalogue (one transaction) and say what changed. On the
        first load (no catalogue before) nothing counts as added."""
        by_cve = {e.cve: e for e in entries}
        async with Transaction(self._db) as db:
            async with db.execute("SELECT cve FROM kev") as cur:
                before = {row[0] for row in await cur.fetchall()}
            if guard is not None:
                guard(len(by_cve), len(before))
            first = not before
            added = [] if first else [e for cve, e in by_cve.items() if cve not in before]
            removed = sorted(before.difference(by_cve))
            await db.executemany("DELETE FROM kev WHERE cve = ?", [(c,) for c in removed])
            await db.executemany(
                f"INSERT INTO kev ({_KEV_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
                f" ON CONFLICT (cve) DO UPDATE SET {_KEV_UPDATE}",
                [_kev_row(e) for e in by_cve.values()],
            )
            await _set_counts(db, "kev", records=len(by_cve), data_date=None)
        return KevDiff(added=added, removed=removed, total=len(by_cve), first_load=first)

    # -- EPSS --------------------------------------------------------------------------
    async def replace_epss(
        self,
        rows: Iterable[tuple[str, float, float]],
        *,
        score_date: date,
        now: datetime,
        threshold: float | None = None,
        guard: LoadGuard | None = None,
    ) -> EpssDiff:
        """Make ``rows`` (cve, score, percentile) the EPSS scores. The rows are staged
        in chunks; an exception while reading them (a truncated file) drops the staging
        and leaves the previous scores in place. ``crossed``: CVEs whose score is now
        ≥ ``threshold`` and was below it (or absent) before — none on the first load."""
        counted = _Counted(rows)
        staging = f"{_STAGING}{os.getpid()}_{next(_loads)}"
        await self._drop_abandoned_staging()
        try:
            async with write_lock(self._db):
                await self._db.execute(self._db.pick(_EPSS_STAGING).format(name=staging))
            while True:
                before = counted.count
                async with Transaction(self._db) as db:
                    await db.executemany(
                        f"INSERT INTO {staging} VALUES (?, ?, ?) ON CONFLICT (cve) DO UPDATE SET"
                        " score = excluded.score, percentile = excluded.percentile",
                        counted.take(EPSS_CHUNK),
                    )
                if counted.count - before < EPSS_CHUNK:
                    break
            async with Transaction(self._db) as db:
                async with db.execute(f"SELECT count(*) FROM {staging}") as cur:
                    total = (await cur.fetchone())[0]
                async with db.execute("SELECT EXISTS (SELECT 1 FROM epss)") as cur:
                    first = not (await cur.fetchone())[0]
                if guard is not None and not first:
                    async with db.execute("SELECT count(*) FROM epss") as cur:
                        guard(total, (await cur.fetchone())[0])
                crossed: list[EpssScore] = []
                if threshold is not None and not first:
                    async with db.execute(
                        f"SELECT n.cve, n.score, n.percentile FROM {staging} n"
                        " LEFT JOIN epss o ON o.cve = n.cve"
                        " WHERE n.score >= ? AND (o.score IS NULL OR o.score < ?)"
                        " ORDER BY n.score DESC, n.cve",
                        (threshold, threshold),
                    ) as cur:
                        crossed = [EpssScore(r[0], r[1], r[2], score_date)
                                   for r in await cur.fetchall()]
                await db.execute("DROP TABLE epss")
                await db.execute(f"ALTER TABLE {staging} RENAME TO epss")
                await _set_counts(db, "epss", records=total, data_date=score_date)
        except BaseException:
            async with write_lock(self._db):
                await self._db.execute(f"DROP TABLE IF EXISTS {staging}")
            raise
        return EpssDiff(total=total, crossed=crossed, first_load=first)

    async def _drop_abandoned_staging(self) -> None:
        """Staging tables of loads whose process is gone (killed mid-load). Each load
        stages under its own name, so two processes loading at once (the bot's round and
        `vulns refresh` from cron) never mix rows; their swaps simply follow each other.
        Process ids say nothing across hosts, so on PostgreSQL (shared by many hosts) a
        killed load's table is left in place rather than risk dropping a live one."""
        if self._db.dialect != "sqlite":
            return
        async with self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB ?",
            (_STAGING + "*",),
        ) as cur:
            names = [row[0] for row in await cur.fetchall()]
        for name in names:
            pid = name.removeprefix(_STAGING).split("_")[0]
            if pid.isdigit() and not _alive(int(pid)) and _STAGING_NAME.fullmatch(name):
                async with write_lock(self._db):
                    await self._db.execute(f"DROP TABLE IF EXISTS {name}")

    # -- CVSS --------------------------------------------------------------------------
    async def upsert_cvss(
        self, scores: Sequence[CvssScore], *, now: datetime | None = None
    ) -> None:
        """Store scores. An NVD score replaces whatever was there (and counts as NVD
        having been asked); a score from an article never replaces NVD's."""
        stamp = to_db(now or utcnow())
        rows = [(s.cve.upper(), s.score, s.severity, s.vector, s.source, s.description, stamp)
                for s in scores]
        nvd = [(r[0], stamp) for r, s in zip(rows, scores, strict=True) if s.source == "nvd"]
        async with Transaction(self._db) as db:
            await db.executemany(
                "INSERT INTO cvss (cve, score, severity, vector, source, description,"
                " fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cve) DO UPDATE SET"
                " score = excluded.score, severity = excluded.severity,"
                " vector = excluded.vector, source = excluded.source,"
                " description = excluded.description, fetched_at = excluded.fetched_at"
                " WHERE excluded.source = 'nvd' OR cvss.source != 'nvd'",
                rows,
            )
            await db.executemany(
                "INSERT INTO nvd_checked (cve, checked_at) VALUES (?, ?)"
                " ON CONFLICT (cve) DO UPDATE SET checked_at = excluded.checked_at", nvd
            )

    async def mark_nvd_checked(self, cves: Sequence[str], *, now: datetime) -> None:
        """NVD was asked about ``cves`` (with or without a score in its answer)."""
        async with Transaction(self._db) as db:
            await db.executemany(
                "INSERT INTO nvd_checked (cve, checked_at) VALUES (?, ?)"
                " ON CONFLICT (cve) DO UPDATE SET checked_at = excluded.checked_at",
                [(c.upper(), to_db(now)) for c in cves],
            )

    async def cves_missing_cvss(
        self, limit: int, *, checked_before: datetime | None = None
    ) -> list[str]:
        """CVEs named in stored articles that NVD has not been asked about — or, with
        ``checked_before``, was last asked about before then — newest mention first."""
        async with self._db.execute(
            "SELECT t.value FROM article_tags t WHERE t.kind = 'cve'"
            " AND NOT EXISTS (SELECT 1 FROM nvd_checked c WHERE c.cve = t.value"
            "   AND (CAST(? AS TEXT) IS NULL OR c.checked_at >= ?))"
            " GROUP BY t.value ORDER BY max(t.at) DESC, t.value LIMIT ?",
            (to_db(checked_before), to_db(checked_before), limit),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    # -- sources -----------------------------------------------------------------------
    async def source_status(self, source: str) -> VulnSourceStatus:
        """The stored state of one source (``enabled``/``url`` are the caller's to set:
        they come from the settings). A source never polled has empty fields."""
        async with self._db.execute(
            "SELECT * FROM vuln_sources WHERE source = ?", (source,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return VulnSourceStatus(source=source, enabled=True, url=None)
        return VulnSourceStatus(
            source=source, enabled=True, url=None,
            last_success=from_db(row["last_success"]), last_error=row["last_error"],
            data_date=_day(row["data_date"]), next_refresh=from_db(row["next_refresh"]),
            records=row["records"], failures=row["failures"],
            last_attempt=from_db(row["last_attempt"]), etag=row["etag"],
            last_modified=row["last_modified"],
        )

    async def record_source_success(
        self,
        source: str,
        *,
        now: datetime,
        next_refresh: datetime,
        etag: str | None = None,
        last_modified: str | None = None,
        records: int | None = None,
        data_date: date | None = None,
    ) -> None:
        """A refresh worked (new data, or 304 Not Modified: ``records`` and
        ``data_date`` None keep the stored ones). Clears the error and failures."""
        await execute_write(self._db,
            "INSERT INTO vuln_sources (source) VALUES (?) ON CONFLICT (source) DO NOTHING",
            (source,))
        await execute_write(self._db,
            "UPDATE vuln_sources SET etag = ?, last_modified = ?, last_attempt = ?,"
            " last_success = ?, last_error = NULL, failures = 0, next_refresh = ?,"
            " records = coalesce(?, records), data_date = coalesce(?, data_date)"
            " WHERE source = ?",
            (etag, last_modified, to_db(now), to_db(now), to_db(next_refresh), records,
             data_date.isoformat() if data_date else None, source),
        )

    async def record_source_failure(
        self, source: str, *, now: datetime, error: str, next_refresh: datetime
    ) -> None:
        """A refresh failed: the error is kept, failures counted, data left alone."""
        await execute_write(self._db,
            "INSERT INTO vuln_sources (source) VALUES (?) ON CONFLICT (source) DO NOTHING",
            (source,))
        await execute_write(self._db,
            "UPDATE vuln_sources SET last_attempt = ?, last_error = ?,"
            " failures = failures + 1, next_refresh = ? WHERE source = ?",
            (to_db(now), error, to_db(next_refresh), source),
        )


async def _set_counts(
    db: Database, source: str, *, records: int, data_date: date | None
) -> None:
    """Inside a load's transaction: the source's record count (and data date) now
    match the data."""
    await db.execute(
        "INSERT INTO vuln_sources (source, records, data_date) VALUES (?, ?, ?)"
        " ON CONFLICT (source) DO UPDATE SET records = excluded.records,"
        " data_date = coalesce(excluded.data_date, vuln_sources.data_date)",
        (source, records, data_date.isoformat() if data_date else None),
    )
