"""Alerts as plain-text email, through the SMTP server of AIGUILLAGE_ALERT_SMTP_URL."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from aiguillage.alerts.content import email_body, email_subject
from aiguillage.alerts.settings import SmtpSettings

TIMEOUT_SECONDS = 10


def compose(alert: dict[str, Any], settings: SmtpSettings, alert_key: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = email_subject(alert)
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    message["Date"] = formatdate(localtime=True)
    # The same alert sent again (a rerun task) keeps its Message-ID, so mail clients show it once.
    message["Message-ID"] = f"<{alert_key}@aiguillage.alerts>"
    message.set_content(email_body(alert))
    return message


def send_email(alert: dict[str, Any], settings: SmtpSettings, alert_key: str) -> None:
    """Deliver the alert to every recipient; smtplib errors propagate (they carry no password)."""
    message = compose(alert, settings, alert_key)
    context = ssl.create_default_context()
    if settings.implicit_tls:
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=TIMEOUT_SECONDS, context=context
        )
    else:
        server = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_SECONDS)
    with server:
        if settings.starttls:
            server.starttls(context=context)
        if settings.user:
            server.login(settings.user, settings.password or "")
        refused = server.send_message(message, settings.sender, list(settings.recipients))
    if refused:
        raise smtplib.SMTPRecipientsRefused(refused)
