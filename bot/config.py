"""Settings from the environment and an optional .env file, built once in main()."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.services.alerts import DEFAULT_MAX_AGE_HOURS

BUNDLED_FEEDS = Path(__file__).parent / "news" / "default_feeds.txt"
KEV_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
EPSS_URL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
NVD_URL = "https://services.nvd.nist.gov/rest/json/cves/2.0"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A configuration file the operator named cannot be used."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    discord_token: SecretStr | None = Field(default=None, alias="DISCORD_TOKEN")
    # a file path (or sqlite:PATH) for SQLite; a postgresql://… URL for PostgreSQL
    database: Path | str = Field(default=Path("data/secbrief.db"), alias="SECBRIEF_DATABASE")
    feeds_file: Path | None = Field(default=None, alias="SECBRIEF_FEEDS")
    allow_private_feeds: bool = Field(default=False, alias="SECBRIEF_ALLOW_PRIVATE_FEEDS")
    dev_guild_id: int | None = Field(default=None, alias="SECBRIEF_DEV_GUILD_ID")
    actors_file: Path | None = Field(default=None, alias="SECBRIEF_ACTORS_FILE")

    llm_url: str | None = Field(default=None, alias="SECBRIEF_LLM_URL")
    llm_model: str | None = Field(default=None, alias="SECBRIEF_LLM_MODEL")
    llm_api_key: SecretStr | None = Field(default=None, alias="SECBRIEF_LLM_API_KEY")
    llm_timeout: float = Field(default=20.0, gt=0, alias="SECBRIEF_LLM_TIMEOUT")

    poll_interval: int = Field(default=900, ge=30, alias="SECBRIEF_POLL_INTERVAL")
    alert_interval: int = Field(default=60, ge=1, alias="SECBRIEF_ALERT_INTERVAL")
    alert_max_age: float = Field(default=DEFAULT_MAX_AGE_HOURS, gt=0,
                                 alias="SECBRIEF_ALERT_MAX_AGE")
    fetch_timeout: float = Field(default=30.0, gt=0, alias="SECBRIEF_FETCH_TIMEOUT")
    max_feed_bytes: int = Field(default=5_000_000, ge=10_000, alias="SECBRIEF_MAX_FEED_BYTES")
    max_redirects: int = Field(default=5, ge=0, le=20, alias="SECBRIEF_MAX_REDIRECTS")
    per_host_limit: int = Field(default=2, ge=1, alias="SECBRIEF_PER_HOST_LIMIT")
    fetch_concurrency: int = Field(default=64, ge=1, alias="SECBRIEF_FETCH_CONCURRENCY")
    fetch_pages: bool = Field(default=True, alias="SECBRIEF_FETCH_PAGES")
    feed_disable_after: int = Field(default=10, ge=1, alias="SECBRIEF_FEED_DISABLE_AFTER")
    max_subscriptions: int = Field(default=50, ge=1, alias="SECBRIEF_MAX_SUBSCRIPTIONS")
    max_guild_feeds: int = Field(default=50, ge=1, alias="SECBRIEF_MAX_GUILD_FEEDS")
    workers: int = Field(default=1, ge=0, le=32, alias="SECBRIEF_WORKERS")
    send_rate: float = Field(default=45.0, gt=0, alias="SECBRIEF_SEND_RATE")

    # Scale-out (issue 13): which Discord shards this process serves, and how long a
    # claim (a batch being sent, a feed being polled) holds before another process may
    # take it over.
    shard_count: int | None = Field(default=None, ge=1, alias="SECBRIEF_SHARD_COUNT")
    shard_ids: str | None = Field(default=None, alias="SECBRIEF_SHARD_IDS")
    claim_lease: float = Field(default=30.0, ge=1, alias="SECBRIEF_CLAIM_LEASE")

    # Vulnerability context (issue 12); an empty URL switches that source off.
    kev_url: str | None = Field(default=KEV_URL, alias="SECBRIEF_KEV_URL")
    epss_url: str | None = Field(default=EPSS_URL, alias="SECBRIEF_EPSS_URL")
    nvd_url: str | None = Field(default=NVD_URL, alias="SECBRIEF_NVD_URL")
    nvd_api_key: SecretStr | None = Field(default=None, alias="SECBRIEF_NVD_API_KEY")
    epss_alert: float | None = Field(default=None, ge=0, le=1, alias="SECBRIEF_EPSS_ALERT")
    max_vuln_bytes: int = Field(default=64_000_000, ge=100_000, alias="SECBRIEF_MAX_VULN_BYTES")

    # Test hooks: point discord.py at a local fake Discord. Never set in production.
    discord_api_base: str | None = Field(default=None, alias="SECBRIEF_DISCORD_API_BASE")
    discord_gateway: str | None = Field(default=None, alias="SECBRIEF_DISCORD_GATEWAY")

    log_level: str | None = Field(default=None, alias="SECBRIEF_LOG_LEVEL")

    @field_validator("discord_token", "llm_api_key", "nvd_api_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("dev_guild_id", "feeds_file", "actors_file", "llm_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("epss_alert", mode="before")
    @classmethod
    def _blank_is_off(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("kev_url", "epss_url", "nvd_url", mode="before")
    @classmethod
    def _source_url(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None  # switched off
        text = str(value).strip()
        if not text.lower().startswith(("http://", "https://")):
            raise ValueError(f"{text[:60]!r} is not an http(s) URL: give one, or leave it "
                             "empty to switch the source off")
        return text

    @field_validator("database", mode="before")
    @classmethod
    def _database_given(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty: set it to the store's file path, or unset it for "
                             "./data/secbrief.db")
        if isinstance(value, str):
            text = value.strip()
            if text.startswith(("postgresql://", "postgres://")):
                return text
            return Path(text.removeprefix("sqlite:"))
        return value

    @field_validator("shard_count", mode="before")
    @classmethod
    def _blank_shard_count(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_id_list(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        parts = [p.strip() for p in str(value).split(",")]
        if not all(p.isdigit() for p in parts):
            raise ValueError(f"{str(value)[:60]!r} is not a list of shard numbers: give "
                             "them comma-separated, e.g. 0,1")
        return ",".join(str(n) for n in sorted({int(p) for p in parts}))

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("SECBRIEF_SHARD_IDS needs SECBRIEF_SHARD_COUNT (the total "
                                 "number of shards across every process)")
            too_big = [n for n in self.shard_id_list if n >= self.shard_count]
            if too_big:
                raise ValueError(f"SECBRIEF_SHARD_IDS {too_big} must be below "
                                 f"SECBRIEF_SHARD_COUNT ({self.shard_count}); shards count "
                                 "from 0")
        return self

    @property
    def shard_id_list(self) -> list[int] | None:
        """This process's shards (None: every shard of SECBRIEF_SHARD_COUNT, or of the
        count Discord recommends when that is unset too)."""
        if self.shard_ids is None:
            return None
        return [int(n) for n in self.shard_ids.split(",")]

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        name = str(value).strip().upper()
        if name not in LOG_LEVELS:
            raise ValueError(f"unknown log level {value!r}: use one of {', '.join(LOG_LEVELS)}")
        return name

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_url and self.llm_model)

    def feed_urls(self) -> list[str]:
        """The operator's feed list: SECBRIEF_FEEDS, or the bundled list."""
        return read_feed_list(self.feeds_file or BUNDLED_FEEDS)


def read_feed_list(path: Path) -> list[str]:
    """One URL a line; blank lines and # comments ignored."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the feed list {path}: {exc.strerror}; "
                          "check SECBRIEF_FEEDS") from exc
    urls: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            continue
        line = line.split(" #", 1)[0].strip()  # a trailing comment; "#" in a URL stays
        if line and line not in urls:
            urls.append(line)
    return urls
