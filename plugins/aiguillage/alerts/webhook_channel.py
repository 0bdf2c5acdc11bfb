"""Alerts as a JSON POST to AIGUILLAGE_ALERT_WEBHOOK_URL, retried on passing failures."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiguillage.alerts.settings import WebhookSettings

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
ATTEMPTS = 3
BACKOFF_SECONDS = 2.0  # waits 2 s, then 4 s


class WebhookError(RuntimeError):
    """The webhook refused the alert or stayed unreachable; names the URL, never the token."""


def _reason(exc: BaseException) -> str:
    """The innermost OS-level cause ("Connection refused"), without the URL requests would quote."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return f"{type(exc).__name__} ({current.strerror})"
        linked = [*current.args, getattr(current, "reason", None), current.__cause__, current.__context__]
        pending += [item for item in linked if isinstance(item, BaseException)]
    return type(exc).__name__


def post_alert(alert: dict[str, Any], settings: WebhookSettings, alert_key: str) -> None:
    import requests  # deferred: only runs that alert pay for it

    headers = {"Content-Type": "application/json", "Idempotency-Key": alert_key}
    if settings.token:
        headers["Authorization"] = f"Bearer {settings.token}"
    where = settings.public_url
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = requests.post(
                settings.url, json=alert, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            problem = f"could not be reached: {_reason(exc)}"
        else:
            if response.status_code < 300:
                return
            if response.status_code < 500:
                # 3xx and 4xx: the request itself is wrong (address, token, body); sending it again won't help.
                raise WebhookError(f"webhook {where} refused the alert: HTTP {response.status_code}")
            problem = f"answered HTTP {response.status_code}"
        if attempt < ATTEMPTS:
            delay = BACKOFF_SECONDS * 2 ** (attempt - 1)
            log.warning(
                "Webhook %s %s (attempt %d of %d), retrying in %.0f s",
                where,
                problem,
                attempt,
                ATTEMPTS,
                delay,
            )
            time.sleep(delay)
    raise WebhookError(f"webhook {where} {problem} after {ATTEMPTS} attempts")
