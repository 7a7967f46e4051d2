"""All configuration in one place, read from the environment (prefix PATHWAYS_) or a `.env` file.

Built by `get_settings()` when a process starts, never at import time, so tests and tools can build
their own.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import AliasChoices, Field, FilePath, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.codec import parse_key_ring  # trust: payload encryption


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PATHWAYS_", env_file=".env", extra="ignore")

    temporal_address: str = Field(default="localhost:7233", description="host:port of the Temporal frontend")
    temporal_namespace: str = "default"
    task_queue: str = "work-ability-pathways"
    # TLS to the frontend (a self-hosted cluster behind TLS, or Temporal Cloud): a private CA, mutual TLS
    # with a client certificate and key, or an API key (which implies TLS).
    temporal_tls: bool = False
    temporal_tls_ca_file: FilePath | None = Field(
        default=None, description="PEM CA bundle the server's certificate chains to"
    )
    temporal_tls_cert_file: FilePath | None = Field(default=None, description="PEM client certificate for mutual TLS")
    temporal_tls_key_file: FilePath | None = Field(
        default=None, description="PEM private key of the client certificate"
    )
    temporal_tls_server_name: str | None = Field(
        default=None, description="Name to verify when it differs from the address"
    )
    temporal_api_key: SecretStr | None = Field(default=None, description="Temporal Cloud API key (sent over TLS)")

    # The embedded Temporal dev server that `make run` starts.
    dev_server_port: int = 7233
    dev_server_ui_port: int = 8233
    # With `make run` the embedded UI listens here and the UI proxy (ops/ui_proxy.py) on dev_server_ui_port;
    # 0: the embedded UI takes dev_server_ui_port itself.
    dev_server_ui_internal_port: int = Field(default=0, ge=0, le=65535)
    dev_server_ip: str = "127.0.0.1"
    var_dir: Path = Path("var")

    # Worker tuning.
    max_concurrent_activities: int = 100
    max_concurrent_workflow_tasks: int = 100
    # Sticky cache: a cached pathway costs the worker about 0.13 MB (its instance and state; measured with
    # 1,000 to 3,000 parked), so 500 keeps a worker near 300 MB however many pathways are open
    # (docs/BENCHMARKS.md, figure 5). An evicted pathway replays from its history when a timer or an
    # action wakes it: a larger cache trades memory for fewer replays.
    max_cached_workflows: int = 500
    graceful_shutdown_seconds: float = 30.0

    log_level: str = "INFO"

    # Database: SQLite file by default, PostgreSQL (postgresql+psycopg://...) in production.
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("PATHWAYS_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL; empty means the SQLite file var/pathways.db",
    )

    # Notifications (db area): e-mail over SMTP (off by default: dev delivers to the in-app inbox only)
    # and team webhooks.
    smtp_enabled: bool = False
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls (usually port 587), tls (implicit, usually 465) or none"
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from_address: str = "pathways@localhost"
    smtp_timeout_seconds: float = 10.0
    webhook_timeout_seconds: float = 5.0
    webhook_loopback: bool = Field(
        default=False,
        description="Development and tests on one machine only: webhooks may go to this machine (http or https). "
        "Everywhere else a webhook goes over https to a public internet address, never inside the network",
    )
    # Operations (issue 5): worker health check, Prometheus metrics, logs, the API's listen address.
    # Health and metrics listen on loopback unless told otherwise; containers set 0.0.0.0.
    ops_bind_host: str = Field(default="127.0.0.1", description="address the worker's health and metrics ports bind")
    worker_health_port: int | None = Field(
        default=None, ge=1, le=65535, description="/healthz of the worker; unset=off"
    )
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535, description="Prometheus /metrics; unset=off")
    health_check_timeout_seconds: float = Field(default=2.0, gt=0)
    temporal_connect_timeout_seconds: float = Field(default=60.0, ge=0, description="keep retrying the first connect")
    log_format: Literal["json", "text"] = "json"
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    # The API's database calls run in threads (SQLAlchemy sessions are synchronous); Python's default of
    # cores + 4 makes concurrent requests queue for a thread while another waits on a database lock.
    api_threads: int = Field(default=32, ge=1, le=256, description="threads for the API's database calls")
    token_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long the API trusts a checked bearer token before it reads the database again; "
        "a token revoked in the database stops working within this time. 0 checks on every request.",
    )
    # Trust (issue 6): payload encryption and the codec server. Keys come from the environment or a
    # secret store, never from the repository; `python -m core.codec new-key` makes one. Off when unset.
    encryption_keys: SecretStr = Field(
        default=SecretStr(""),
        description="Comma-separated <key id>:<base64 of 32 bytes>; every key this process can decrypt with",
    )
    encryption_active_key: str = Field(default="", description="Key id new payloads are encrypted with")
    require_encryption: bool = Field(
        default=True,
        description="A worker or the API refuses to start without encryption keys, so no client text reaches "
        "Temporal unencrypted. Off only where no real client data is (tests, a local evaluation); `make run` "
        "always has keys (var/encryption.key)",
    )
    # Sign-in (issue 17). People sign in with the wellbeing services county's identity provider (OpenID
    # Connect: authorization code with PKCE in the browser, JWT access tokens for the API); bearer tokens
    # from the staff table stay for scripts and service accounts, with an expiry.
    public_url: str = Field(
        default="",
        description="The API's address as browsers reach it (https://pathways.example.org); empty: http://localhost:<api_port>",
    )
    oidc_issuer: str = Field(default="", description="The identity provider's issuer URL; empty turns OIDC off")
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr | None = Field(default=None, description="Only for a confidential client")
    oidc_audience: str = Field(
        default="",
        description="The `aud` of access tokens for this API (comma-separated to accept several, e.g. the Temporal "
        "Web UI's client too); empty: the client id",
    )
    oidc_scopes: str = "openid profile email"
    oidc_staff_id_claim: str = Field(
        default="preferred_username",
        description="The claim shown (with the subject) when a sign-in is not linked to a staff member; it never "
        "links anyone (an administrator links the subject: PUT /staff/{id}/identity)",
    )
    oidc_role_claim: str = Field(
        default="", description="Take the role from this claim's values (see oidc_role_values)"
    )
    oidc_role_values: str = Field(
        default="admin=pathways-admins,coordinator=pathways-coordinators,professional=pathways-professionals",
        description="role=claim value pairs for oidc_role_claim",
    )
    oidc_teams_claim: str = Field(default="", description="Take the teams from this claim (values team:<team id>)")
    oidc_clock_skew_seconds: int = Field(default=60, ge=0, le=600)
    session_hours: float = Field(default=10.0, gt=0, le=24 * 7, description="How long a browser sign-in lasts")
    session_idle_minutes: int = Field(
        default=30, ge=2, le=24 * 60, description="A browser sign-in unused this long ends (a workstation left open)"
    )
    # `make run` only: sign in as a demo staff member without an identity provider. Never in production.
    dev_sign_in: bool = False
    api_token_days: int = Field(default=90, ge=1, le=3650, description="Lifetime of a new bearer token")
    # A Server-Timing header on every response (database, Temporal and the API's own time); `make bench` uses
    # it to tell the API's overhead from the stores'. Off by default: timings tell an outsider about load.
    server_timing: bool = False
    codec_cors_origins: str = Field(
        default="",
        description="Comma-separated origins of the Temporal Web UI allowed to call /codec (e.g. http://localhost:8233)",
    )

    # The record's life after closure (db area). Social and health care client records are kept for years
    # after the case closes (12 years is the default here); demo pathways (`make run`) for minutes, so the
    # erasure can be seen. The erasure runs from a Temporal Schedule every `record_retention_check`.
    record_retention: timedelta = Field(default=timedelta(days=12 * 365), gt=timedelta(0))
    demo_record_retention: timedelta = Field(default=timedelta(days=12 * 365), gt=timedelta(0))
    record_retention_check: timedelta = Field(default=timedelta(hours=6), gt=timedelta(0))
    # The outbox sweep delivers e-mails and webhooks whose first attempt failed (or whose worker died).
    outbox_sweep_interval: timedelta = Field(default=timedelta(minutes=1), gt=timedelta(0))
    # A delivery attempt holds its outbox row this long: no other worker sends the row meanwhile, and a row
    # whose worker died is sent by the sweep once the hold has passed. Longer than an SMTP or webhook timeout.
    outbox_claim_seconds: float = Field(default=60.0, gt=0)
    # How often a worker looks for outbox rows due that it did not write itself (a staff action's e-mails and
    # webhooks, filed by the staff API with its audit line): one indexed query per worker per turn.
    outbox_poll_seconds: float = Field(default=2.0, gt=0)
    # Referrals to partner organisations (issue 19): a provider reads and answers its referral through a
    # signed, expiring link (HMAC-SHA256). The first secret signs, every listed one verifies (rotation).
    partner_link_secrets: SecretStr = Field(
        default=SecretStr(""),
        description="Comma-separated secrets (at least 32 characters each) signing partners' referral links; "
        "empty: referrals go only to partners with a webhook",
    )
    partner_link_days: int = Field(default=30, ge=1, le=365, description="How long a partner's referral link works")
    # A partner's signed callback is refused when its timestamp is further than this from our clock.
    partner_callback_tolerance_seconds: int = Field(default=300, ge=30, le=3600)
    # The FHIR export's identifier systems and organisation (issue 22): each deployment its own, so two
    # counties never export the same identifiers (e.g. https://fhir.satakunta.fi/tyokyky).
    fhir_identifier_base: str = Field(
        default="urn:workability-pathways",
        min_length=5,
        max_length=200,
        pattern=r"^(urn:[A-Za-z0-9.:-]+|https?://[^\s|?#]+)$",
        description="The base of the FHIR export's identifier systems: an URL the organisation controls, or an URN",
    )
    fhir_organisation_name: str = Field(default="Work-ability services", min_length=1, max_length=200)
    fhir_organisation_identifier: str | None = Field(
        default=None, max_length=100, description="e.g. the wellbeing services county's business id (Y-tunnus)"
    )
    # Where people send feedback on accessibility (the statement Act 306/2019 requires names it).
    accessibility_contact: str = Field(
        default="",
        max_length=300,
        description="An e-mail address or a web form's address for accessibility feedback; empty: the team's contact",
    )

    @model_validator(mode="after")
    def _partner_link_secrets_strong(self) -> Settings:
        if any(len(secret) < 32 for secret in self.partner_link_secret_list):
            raise ValueError("every PATHWAYS_PARTNER_LINK_SECRETS entry must be at least 32 characters")
        return self

    @property
    def partner_link_secret_list(self) -> list[str]:
        raw = self.partner_link_secrets.get_secret_value()
        return [secret.strip() for secret in raw.split(",") if secret.strip()]

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer and not self.oidc_client_id:
            raise ValueError("PATHWAYS_OIDC_ISSUER is set but PATHWAYS_OIDC_CLIENT_ID is not: set both")
        return self

    @model_validator(mode="after")
    def _client_certificate_complete(self) -> Settings:
        if (self.temporal_tls_cert_file is None) != (self.temporal_tls_key_file is None):
            raise ValueError(
                "mutual TLS needs both PATHWAYS_TEMPORAL_TLS_CERT_FILE and PATHWAYS_TEMPORAL_TLS_KEY_FILE, or neither"
            )
        if (self.temporal_tls_cert_file or self.temporal_tls_ca_file) and not self.temporal_tls:
            raise ValueError("a TLS certificate file is set but PATHWAYS_TEMPORAL_TLS is off: set it to true")
        return self

    @model_validator(mode="after")
    def _dev_sign_in_only_on_this_machine(self) -> Settings:
        # The development sign-in lets anyone choose whom to be: never beside a real identity provider, nor where
        # others can reach the service (an https address, or an API listening beyond this machine).
        if not self.dev_sign_in:
            return self
        public = urlparse(self.effective_public_url)
        if self.oidc_issuer or public.scheme == "https" or public.hostname not in _LOOPBACK_NAMES:
            raise ValueError(
                "PATHWAYS_DEV_SIGN_IN is for `make run` on one machine only: it cannot be on together with an "
                "identity provider (PATHWAYS_OIDC_ISSUER) or a public address (PATHWAYS_PUBLIC_URL "
                f"{self.effective_public_url})"
            )
        if self.api_host not in _LOOPBACK_NAMES:
            raise ValueError(
                f"PATHWAYS_DEV_SIGN_IN is for `make run` on one machine only: the API listens on {self.api_host}, "
                "reachable from elsewhere; set PATHWAYS_API_HOST=127.0.0.1 or turn the development sign-in off"
            )
        return self

    @model_validator(mode="after")
    def _webhook_loopback_only_on_this_machine(self) -> Settings:
        # Webhooks to this machine reach whatever listens on its loopback (an admin port, a metadata proxy): only
        # where the whole service is on one machine, as for the development sign-in.
        if not self.webhook_loopback:
            return self
        public = urlparse(self.effective_public_url)
        if public.scheme == "https" or public.hostname not in _LOOPBACK_NAMES or self.api_host not in _LOOPBACK_NAMES:
            raise ValueError(
                "PATHWAYS_WEBHOOK_LOOPBACK is for development and tests on one machine: not with a public address "
                f"(PATHWAYS_PUBLIC_URL {self.effective_public_url}) nor an API listening on {self.api_host}"
            )
        return self

    @model_validator(mode="after")
    def _encryption_keys_well_formed(self) -> Settings:
        # Fail when the process starts, not at the first payload.
        parse_key_ring(self.encryption_keys.get_secret_value(), self.encryption_active_key)
        return self

    def require_keys(self, process: str) -> None:
        """Refuse to run `process` without encryption keys when they are required (`MissingEncryptionKeys`)."""
        if self.require_encryption and not self.encryption_keys.get_secret_value():
            raise MissingEncryptionKeys(
                f"{process} not started: no encryption keys (PATHWAYS_ENCRYPTION_KEYS and "
                "PATHWAYS_ENCRYPTION_ACTIVE_KEY). Give it the keys the other pieces use; `make run` keeps them in "
                "var/encryption.key, which `python -m ops.cli` commands read. Only where no real client data is, "
                "PATHWAYS_REQUIRE_ENCRYPTION=false lets it run without"
            )

    @property
    def codec_cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.codec_cors_origins.split(",") if origin.strip()]

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://localhost:{self.api_port}").rstrip("/")

    @property
    def effective_oidc_audiences(self) -> list[str]:
        """The audiences an access token may name; the first is the one this API asks for."""
        audiences = [audience.strip() for audience in self.oidc_audience.split(",") if audience.strip()]
        return audiences or [self.oidc_client_id]

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'pathways.db'}"

    @property
    def dev_server_db_file(self) -> Path:
        return self.var_dir / "temporal.db"


class MissingEncryptionKeys(RuntimeError):
    """A process that needs the payload keys was started without them."""


_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def get_settings() -> Settings:
    return Settings()
