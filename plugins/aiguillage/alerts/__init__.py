"""Tell the data engineers when a day's run withheld an extract or quarantined a file.

Configuration (environment variables; any, all or none may be set)::

    AIGUILLAGE_ALERT_SMTP_URL      smtp://[user[:password]@]host[:port][?starttls=1]  or  smtps://host[:465]
                                   Port defaults: 25 (smtp), 587 (smtp with starttls=1), 465 (smtps).
                                   User and password are optional (percent-encode special characters).
    AIGUILLAGE_ALERT_EMAIL_FROM    sender address; required with the SMTP URL
    AIGUILLAGE_ALERT_EMAIL_TO      recipients, comma-separated; required with the SMTP URL
    AIGUILLAGE_ALERT_WEBHOOK_URL   http(s) URL receiving the alert as a JSON POST
    AIGUILLAGE_ALERT_WEBHOOK_TOKEN optional; sent as "Authorization: Bearer <token>"

With no channel configured, an alert is only logged (one warning). A setting that is missing or
malformed raises AlertConfigError naming the variable, before anything is sent.

An alert is built from agency codes, file names, reasons and counts only, never personal data; as a
second guard any string that looks like a NIR or an email address (other than the configured ones)
is replaced by a placeholder, with a warning naming the field.

Usage::

    alert = build_alert(day, run_id, withheld=[...], quarantined=[...], report_path=path)
    if alert:
        send_alert(alert)   # -> ["smtp:ops@example.org", "webhook:https://host"]

Sending again is harmless: the email keeps the same Message-ID and the webhook POST the same
Idempotency-Key header (both derived from the alert's content), so receivers can drop repeats.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from aiguillage.alerts.content import build_alert
from aiguillage.alerts.privacy import guard
from aiguillage.alerts.settings import AlertConfigError, configured_addresses, load_settings

__all__ = ["AlertConfigError", "AlertDeliveryError", "build_alert", "send_alert"]

log = logging.getLogger(__name__)


class AlertDeliveryError(RuntimeError):
    """At least one channel failed; the others were tried. ``sent`` lists the channels that worked."""

    def __init__(self, message: str, sent: list[str]):
        super().__init__(message)
        self.sent = sent


def _alert_key(alert: dict[str, Any]) -> str:
    canonical = json.dumps(alert, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def send_alert(alert: dict[str, Any]) -> list[str]:
    """Send the alert through every configured channel and return the channels it went through
    (``smtp:<recipients>``, ``webhook:<scheme://host:port>``; never a password or token).

    Raises AlertConfigError on bad settings (nothing sent), AlertDeliveryError naming each failed
    channel by host once every channel was tried.
    """
    settings = load_settings()
    alert = guard(alert, configured_addresses())  # hand-built alerts get the same check
    if not settings.configured:
        log.warning(
            "No alert channel configured (AIGUILLAGE_ALERT_SMTP_URL, AIGUILLAGE_ALERT_WEBHOOK_URL): %s",
            alert.get("summary", "alert"),
        )
        return []
    from aiguillage.alerts.smtp_channel import send_email
    from aiguillage.alerts.webhook_channel import WebhookError, post_alert

    key = _alert_key(alert)
    sent: list[str] = []
    failures: list[str] = []
    if settings.smtp is not None:
        try:
            send_email(alert, settings.smtp, key)
        except Exception as exc:  # any failure: the webhook must still be tried
            failures.append(f"email through {settings.smtp.where} failed: {type(exc).__name__}: {exc}")
        else:
            sent.append(settings.smtp.label)
    if settings.webhook is not None:
        try:
            post_alert(alert, settings.webhook, key)
        except WebhookError as exc:
            failures.append(str(exc))
        except Exception as exc:  # an unexpected failure is reported with the others, not instead of them
            failures.append(f"webhook {settings.webhook.public_url} failed: {type(exc).__name__}")
        else:
            sent.append(settings.webhook.label)
    for channel in sent:
        log.info("Alert %s sent via %s", alert.get("summary", ""), channel)
    if failures:
        raise AlertDeliveryError("Alert not delivered by every channel: " + "; ".join(failures), sent)
    return sent
