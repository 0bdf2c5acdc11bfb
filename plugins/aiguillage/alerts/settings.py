"""Alert channels as configured in the environment, checked before anything is sent."""

from __future__ import annotations

import os
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

SMTP_URL_VAR = "AIGUILLAGE_ALERT_SMTP_URL"
EMAIL_FROM_VAR = "AIGUILLAGE_ALERT_EMAIL_FROM"
EMAIL_TO_VAR = "AIGUILLAGE_ALERT_EMAIL_TO"
WEBHOOK_URL_VAR = "AIGUILLAGE_ALERT_WEBHOOK_URL"
WEBHOOK_TOKEN_VAR = "AIGUILLAGE_ALERT_WEBHOOK_TOKEN"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class AlertConfigError(ValueError):
    """An alert setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool  # smtps://: TLS from the first byte
    starttls: bool
    user: str | None
    password: str | None = None
    sender: str = ""
    recipients: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How this channel is named in logs and results: recipients only, never credentials."""
        return "smtp:" + ",".join(self.recipients)

    @property
    def where(self) -> str:
        return f"SMTP server {self.host}:{self.port}"

    def __repr__(self) -> str:  # keeps the password out of tracebacks and debug logs
        return f"SmtpSettings(host={self.host!r}, port={self.port}, recipients={self.recipients!r})"


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    token: str | None = None

    @property
    def public_url(self) -> str:
        """Scheme, host and port only: user info, query and even the path may carry secrets (chat
        services put their token in the path)."""
        parts = urlsplit(self.url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return f"{parts.scheme}://{netloc}"

    @property
    def label(self) -> str:
        return "webhook:" + self.public_url

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    def __repr__(self) -> str:
        return f"WebhookSettings(url={self.public_url!r})"


@dataclass(frozen=True)
class AlertSettings:
    smtp: SmtpSettings | None
    webhook: WebhookSettings | None

    @property
    def configured(self) -> bool:
        return self.smtp is not None or self.webhook is not None


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def _address(value: str, variable: str) -> str:
    _, address = parseaddr(value)
    local, _, domain = address.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in address):
        raise AlertConfigError(f"{variable}: {value!r} is not an email address")
    return address


def _flag(query: dict[str, list[str]], name: str, default: bool) -> bool:
    value = query.get(name, [str(default)])[-1].strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise AlertConfigError(f"{SMTP_URL_VAR}: {name}={value!r} must be 1 or 0")


def _smtp_settings() -> SmtpSettings | None:
    url, sender, to = _env(SMTP_URL_VAR), _env(EMAIL_FROM_VAR), _env(EMAIL_TO_VAR)
    if not url:
        if sender or to:
            set_vars = " and ".join(v for v, value in ((EMAIL_FROM_VAR, sender), (EMAIL_TO_VAR, to)) if value)
            raise AlertConfigError(
                f"{set_vars} set but {SMTP_URL_VAR} is not: no server to send emails through"
            )
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise AlertConfigError(
            f"{SMTP_URL_VAR} must start with smtp:// or smtps://, got scheme {parts.scheme!r}"
        )
    if not parts.hostname:
        raise AlertConfigError(f"{SMTP_URL_VAR} names no host (expected smtp://host:587)")
    try:
        explicit_port = parts.port
    except ValueError:
        raise AlertConfigError(f"{SMTP_URL_VAR} has a port that is not a number") from None
    implicit_tls = parts.scheme == "smtps"
    query = parse_qs(parts.query, keep_blank_values=True)
    starttls = _flag(query, "starttls", default=False)
    if implicit_tls and starttls:
        raise AlertConfigError(f"{SMTP_URL_VAR}: smtps:// is already encrypted, starttls=1 does not apply")
    if not to:
        raise AlertConfigError(f"{SMTP_URL_VAR} is set but {EMAIL_TO_VAR} is not: no one to send alerts to")
    if not sender:
        raise AlertConfigError(f"{SMTP_URL_VAR} is set but {EMAIL_FROM_VAR} is not: alerts need a sender")
    recipients = tuple(_address(item, EMAIL_TO_VAR) for item in to.split(",") if item.strip())
    if not recipients:
        raise AlertConfigError(f"{EMAIL_TO_VAR} holds no address")
    return SmtpSettings(
        host=parts.hostname,
        port=explicit_port or (465 if implicit_tls else 587 if starttls else 25),
        implicit_tls=implicit_tls,
        starttls=starttls,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=_address(sender, EMAIL_FROM_VAR),
        recipients=recipients,
    )


def _webhook_settings() -> WebhookSettings | None:
    url, token = _env(WEBHOOK_URL_VAR), _env(WEBHOOK_TOKEN_VAR)
    if not url:
        if token:
            raise AlertConfigError(f"{WEBHOOK_TOKEN_VAR} is set but {WEBHOOK_URL_VAR} is not")
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AlertConfigError(f"{WEBHOOK_URL_VAR} must be an http:// or https:// URL with a host")
    return WebhookSettings(url=url, token=token or None)


def load_settings() -> AlertSettings:
    """The configured channels; raises AlertConfigError naming the variable that is wrong."""
    return AlertSettings(smtp=_smtp_settings(), webhook=_webhook_settings())


def configured_addresses() -> set[str]:
    """Addresses the operator configured (sender, recipients), which alerts may mention.

    Lenient on purpose: building an alert must not fail on a setting only sending checks."""
    found = set()
    for value in [_env(EMAIL_FROM_VAR), *_env(EMAIL_TO_VAR).split(",")]:
        address = parseaddr(value)[1].strip().lower()
        if "@" in address:
            found.add(address)
    return found
