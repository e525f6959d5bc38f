"""A throw-away PostgreSQL for the tests' PostgreSQL leg: SECBRIEF_TEST_POSTGRES_URL
when given, else a private server from the binaries in the ``pgserver`` wheel (or a system
install),
initdb'd into a temp dir and run without fsync. As root it runs as ``nobody`` (no
useradd, nothing added to /etc/passwd). ``start()`` returns (server, None) or
(None, reason) -- the reason is what a skipped PostgreSQL leg reports."""

from __future__ import annotations

import asyncio
import glob
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def find_bindir() -> tuple[Path | None, str]:
    tried = []
    override = os.environ.get("SECBRIEF_TEST_PG_BINDIR")
    if override:
        if Path(override, "postgres").exists():
            return Path(override), "SECBRIEF_TEST_PG_BINDIR"
        return None, f"SECBRIEF_TEST_PG_BINDIR={override} holds no postgres"
    # The wheel's binaries, located without importing pgserver (its import creates a
    # runtime dir and lock file, and warns when XDG_RUNTIME_DIR is unset).
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        bindir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        if (bindir / "postgres").exists():
            return bindir, "pgserver wheel"
        tried.append(f"pgserver wheel ({bindir}: no postgres)")
    else:
        tried.append("pgserver not installed")
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "postgres").exists():
            return Path(candidate), "system"
    tried.append("no /usr/lib/postgresql/*/bin")
    return None, "; ".join(tried)


@dataclass
class ThrowawayPostgres:
    dsn_base: str                      # scheme://user@host:port, without the database
    host: str | None                   # socket dir (ours), or None
    query: str = ""                    # an external URL's ?options, kept
    tmp: Path | None = None
    bindir: Path | None = None
    user: str | None = None
    external: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    def dsn(self, database: str = "postgres") -> str:
        if self.host is None:
            return f"{self.dsn_base}/{database}" + (f"?{self.query}" if self.query else "")
        return f"{self.dsn_base}/{database}?host={self.host}"

    def stop(self) -> None:
        if self.external or self.tmp is None:
            return
        t = time.perf_counter()
        _run(self.bindir / "pg_ctl", "-D", str(self.tmp / "data"), "-w", "-m", "fast",
             "stop", user=self.user, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.timings["stop"] = time.perf_counter() - t


def _run(exe: Path, *args: str, user: str | None, check: bool = True,
         timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), *args], user=user, check=check, timeout=timeout,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


_PREFIX = "secbrief-pg-"


def reap_stale() -> list[str]:
    """Servers left by a test run that was killed (kill -9 of pytest leaves the
    postmaster running and its temp dir behind): stop each whose owner is dead."""
    reaped = []
    for tmp in Path(tempfile.gettempdir()).glob(_PREFIX + "*"):
        try:
            owner = int((tmp / "owner.pid").read_text())
            os.kill(owner, 0)
            continue  # its pytest still runs
        except (OSError, ValueError):
            pass
        pidfile = tmp / "data" / "postmaster.pid"
        try:
            os.kill(int(pidfile.read_text().split()[0]), signal.SIGQUIT)  # immediate stop
            time.sleep(0.2)
        except (OSError, ValueError, IndexError):
            pass
        shutil.rmtree(tmp, ignore_errors=True)
        reaped.append(str(tmp))
    return reaped


def start() -> tuple[ThrowawayPostgres | None, str | None]:
    url = os.environ.get("SECBRIEF_TEST_POSTGRES_URL")
    if url:
        # postgresql://user:pw@host:port/db -> base without the database part
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}"
        try:
            asyncio.run(_probe(url))
        except Exception as exc:  # any failure is the skip reason
            return None, ("SECBRIEF_TEST_POSTGRES_URL does not answer: "
                          f"{type(exc).__name__}: {exc}")
        return ThrowawayPostgres(dsn_base=base, host=None, query=parts.query,
                                 external=True), None
    bindir, how = find_bindir()
    if bindir is None:
        return None, (f"no PostgreSQL server binaries: {how}; pip install pgserver or set "
                      "SECBRIEF_TEST_POSTGRES_URL")
    user = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = "nobody"
        try:
            pwd.getpwnam(user)
        except KeyError:
            return None, "running as root and no 'nobody' user to run PostgreSQL as"
    reap_stale()
    tmp = Path(tempfile.mkdtemp(prefix=_PREFIX))
    (tmp / "owner.pid").write_text(str(os.getpid()))
    server = ThrowawayPostgres(dsn_base="postgresql://postgres@", host=str(tmp),
                               tmp=tmp, bindir=bindir, user=user)
    try:
        if user:
            tmp.chmod(0o700)
            entry = pwd.getpwnam(user)
            os.chown(tmp, entry.pw_uid, entry.pw_gid)
            probe = _run(bindir / "postgres", "--version", user=user, check=False)
            if probe.returncode != 0:
                raise RuntimeError(f"{user} cannot run {bindir}/postgres (a parent directory "
                                   f"not world-traversable?): {probe.stdout.strip()}")
        t = time.perf_counter()
        _run(bindir / "initdb", "-D", str(tmp / "data"), "-A", "trust", "-U", "postgres",
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions", user=user)
        server.timings["initdb"] = time.perf_counter() - t
        options = (f"-k {tmp} -h '' -c fsync=off -c synchronous_commit=off"
                   " -c full_page_writes=off -c max_connections=200")
        t = time.perf_counter()
        _run(bindir / "pg_ctl", "-D", str(tmp / "data"), "-w", "-t", "30",
             "-l", str(tmp / "server.log"), "-o", options, "start", user=user)
        server.timings["start"] = time.perf_counter() - t
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        detail = getattr(exc, "stdout", None) or str(exc)
        log = tmp / "server.log"
        if log.exists():
            detail += " | " + log.read_text()[-500:]
        shutil.rmtree(tmp, ignore_errors=True)
        return None, f"cannot start a throw-away PostgreSQL ({how}, {bindir}): {detail.strip()}"
    return server, None


async def _probe(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    await conn.close()
