"""Alerts by email and webhook, against real SMTP and HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
from datetime import date

import pytest
from mail_sink import HttpSink, MailSink

from aiguillage.alerts import AlertConfigError, AlertDeliveryError, build_alert, send_alert, webhook_channel
from aiguillage.alerts.privacy import PLACEHOLDER

DAY = date(2026, 11, 4)
WITHHELD = [
    {"code_structure": "ALI05", "reason": "the quality gate failed: 3 lines without a commune"},
    {"code_structure": "SSD02", "reason": "no referral stock could be built"},
]
QUARANTINED = [{"relative_path": "caf/VRSB0801_20261104063000.xml", "reason": "trailer count 120, 118 read"}]


@pytest.fixture(autouse=True)
def alert_env(monkeypatch):
    for name in (
        "AIGUILLAGE_ALERT_SMTP_URL",
        "AIGUILLAGE_ALERT_EMAIL_FROM",
        "AIGUILLAGE_ALERT_EMAIL_TO",
        "AIGUILLAGE_ALERT_WEBHOOK_URL",
        "AIGUILLAGE_ALERT_WEBHOOK_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(webhook_channel, "BACKOFF_SECONDS", 0.0)
    return monkeypatch


def _use_smtp(monkeypatch, port: int, credentials: str = "") -> None:
    monkeypatch.setenv("AIGUILLAGE_ALERT_SMTP_URL", f"smtp://{credentials}127.0.0.1:{port}")
    monkeypatch.setenv("AIGUILLAGE_ALERT_EMAIL_FROM", "aiguillage@example.org")
    monkeypatch.setenv("AIGUILLAGE_ALERT_EMAIL_TO", "ops@example.org, data@example.org")


def _alert(**changes):
    arguments = {
        "withheld": WITHHELD,
        "quarantined": QUARANTINED,
        "report_path": "/srv/reports/2026-11-04.txt",
    }
    return build_alert(DAY, "scheduled__2026-11-04", **(arguments | changes))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_nothing_to_say_builds_no_alert():
    assert build_alert(DAY, "run", withheld=[], quarantined=[], report_path=None) is None


def test_alert_document():
    alert = _alert()
    assert alert["event"] == "aiguillage.run_alert"
    assert alert["day"] == "2026-11-04" and alert["run_id"] == "scheduled__2026-11-04"
    assert alert["severity"] == "error"
    assert alert["summary"] == "2026-11-04: 2 extracts withheld, 1 file quarantined"
    assert alert["withheld"] == WITHHELD and alert["quarantined"] == QUARANTINED
    assert alert["report"] == "/srv/reports/2026-11-04.txt"
    assert _alert(withheld=[])["severity"] == "warning"


def test_email_delivered(alert_env):
    with MailSink() as sink:
        _use_smtp(alert_env, sink.port)
        sent = send_alert(_alert())
    assert sent == ["smtp:ops@example.org,data@example.org"]
    [mail] = sink.received
    assert mail.mail_from == "aiguillage@example.org"
    assert mail.rcpt_to == ["ops@example.org", "data@example.org"]
    message = mail.message
    assert message["Subject"] == "[Aiguillage] 2026-11-04: 2 extracts withheld, 1 file quarantined"
    body = message.get_content()
    assert "  - ALI05: the quality gate failed: 3 lines without a commune" in body
    assert "  - SSD02: no referral stock could be built" in body
    assert "  - caf/VRSB0801_20261104063000.xml: trailer count 120, 118 read" in body
    assert "Report: /srv/reports/2026-11-04.txt" in body


def test_webhook_receives_json_with_bearer(alert_env):
    alert = _alert()
    with HttpSink() as sink:
        alert_env.setenv("AIGUILLAGE_ALERT_WEBHOOK_URL", sink.url + "/hooks/aiguillage")
        alert_env.setenv("AIGUILLAGE_ALERT_WEBHOOK_TOKEN", "tok-123")
        sent = send_alert(alert)
    assert sent == [f"webhook:{sink.url}"]  # the path may hold a secret: not shown
    [post] = sink.received
    assert post.path == "/hooks/aiguillage"
    assert post.headers["Authorization"] == "Bearer tok-123"
    assert post.json == alert


def test_webhook_retried_on_500_then_delivered(alert_env):
    with HttpSink(fail_first=2) as sink:
        alert_env.setenv("AIGUILLAGE_ALERT_WEBHOOK_URL", sink.url + "/hook")
        send_alert(_alert())
    assert len(sink.received) == 3
    assert len({post.headers["Idempotency-Key"] for post in sink.received}) == 1


def test_webhook_gives_up_after_three_500(alert_env):
    with HttpSink(fail_first=10) as sink:
        alert_env.setenv("AIGUILLAGE_ALERT_WEBHOOK_URL", sink.url + "/hook")
        with pytest.raises(AlertDeliveryError, match="answered HTTP 500 after 3 attempts"):
            send_alert(_alert())
    assert len(sink.received) == 3


def test_webhook_400_is_not_retried(alert_env):
    with HttpSink(status=400) as sink:
        alert_env.setenv("AIGUILLAGE_ALERT_WEBHOOK_URL", sink.url + "/hook")
        with pytest.raises(
            AlertDeliveryError, match=r"webhook http://127\.0\.0\.1:\d+ refused .*HTTP 400"
        ):
            send_alert(_alert())
    assert len(sink.received) == 1


def test_webhook_unreachable_is_retried_then_named(alert_env):
    alert_env.setenv("AIGUILLAGE_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{_free_port()}/hook?key=hidden")
    with pytest.raises(AlertDeliveryError, match="could not be reached.*Connection refused") as raised:
        send_alert(_alert())
    assert "hidden" not in str(raised.value)


def test_both_channels(alert_env):
    with MailSink() as mail, HttpSink() as hook:
        _use_smtp(alert_env, mail.port)
        alert_env.setenv("AIGUILLAGE_ALERT_WEBHOOK_URL", hook.url + "/hook")
        sent = send_alert(_alert())
    assert sent == ["smtp:ops@example.org,data@example.org", f"webhook:{hook.url}"]
    assert len(mail.received) == 1 and len(hook.received) == 1


def test_failed_channel_does_not_stop_the_other(alert_env):
    with HttpSink() as hook:
        _use_smtp(alert_env, _free_port(), credentials="alerts:pw-secret@")
        alert_env.setenv("AIGUILLAGE_ALERT_WEBHOOK_URL", hook.url + "/hook")
        with pytest.raises(AlertDeliveryError, match=r"SMTP server 127\.0\.0\.1:\d+") as raised:
            send_alert(_alert())
    assert len(hook.received) == 1
    assert raised.value.sent == [f"webhook:{hook.url}"]
    assert "pw-secret" not in str(raised.value)


def test_nothing_configured_only_logs(caplog):
    caplog.set_level(logging.INFO, logger="aiguillage")
    assert send_alert(_alert()) == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "No alert channel configured" in warnings[0].getMessage()


def test_credentials_stay_out_of_results_and_logs(alert_env, caplog):
    caplog.set_level(logging.DEBUG, logger="aiguillage")
    with MailSink(credentials=("alerts", "pw-s3cr@t")) as mail, HttpSink() as hook:
        _use_smtp(alert_env, mail.port, credentials="alerts:pw-s3cr%40t@")
        alert_env.setenv("AIGUILLAGE_ALERT_WEBHOOK_URL", hook.url + "/hook")
        alert_env.setenv("AIGUILLAGE_ALERT_WEBHOOK_TOKEN", "tok-very-secret")
        sent = send_alert(_alert())
    assert mail.received[0].auth == ("alerts", "pw-s3cr@t")
    assert hook.received[0].headers["Authorization"] == "Bearer tok-very-secret"
    for secret in ("pw-s3cr", "tok-very-secret"):
        assert secret not in repr(sent)
        assert secret not in caplog.text
    assert "Alert 2026-11-04: 2 extracts withheld" in caplog.text


def test_personal_data_never_leaves(alert_env, caplog):
    alert_env.setenv("AIGUILLAGE_ALERT_EMAIL_TO", "ops@example.org")  # configured: may be quoted
    leaky = [
        {"code_structure": "ALI01", "reason": "NIR 1 85 05 93 123 456 78 of DUPONT Jean not matched"},
        {"code_structure": "ALI02", "reason": "duplicate person 285052A12345678"},
        {"code_structure": "ALI03", "reason": "write to jean.dupont@gmail.com"},
        {"code_structure": "ALI04", "reason": "ask ops@example.org; 12 345 lines, file 20261104063000"},
    ]
    quarantined = [{"relative_path": "france_travail/stock_1850593123456.csv", "reason": "bad header"}]
    caplog.set_level(logging.WARNING, logger="aiguillage")
    alert = build_alert(DAY, "run", withheld=leaky, quarantined=quarantined, report_path=None)
    text = json.dumps(alert)
    for personal in ("123 456", "2A12345678", "1850593123456", "DUPONT", "jean.dupont"):
        assert personal not in text
        assert personal not in caplog.text
    assert [item["reason"] for item in alert["withheld"]][:3] == [PLACEHOLDER] * 3
    assert alert["withheld"][3]["reason"] == "ask ops@example.org; 12 345 lines, file 20261104063000"
    assert alert["quarantined"][0]["relative_path"] == PLACEHOLDER
    assert "alert.withheld[0].reason" in caplog.text and "looked like it held a NIR" in caplog.text

    # A hand-built alert is checked again on its way out.
    alert_env.delenv("AIGUILLAGE_ALERT_EMAIL_TO")
    with HttpSink() as hook:
        alert_env.setenv("AIGUILLAGE_ALERT_WEBHOOK_URL", hook.url + "/hook")
        send_alert(alert | {"summary": "see 2850593123456"})
    assert hook.received[0].json["summary"] == PLACEHOLDER


@pytest.mark.parametrize(
    ("env", "named"),
    [
        (
            {
                "AIGUILLAGE_ALERT_SMTP_URL": "smtp://mail.example.org",
                "AIGUILLAGE_ALERT_EMAIL_FROM": "a@example.org",
            },
            "AIGUILLAGE_ALERT_EMAIL_TO",
        ),
        (
            {
                "AIGUILLAGE_ALERT_SMTP_URL": "smtp://mail.example.org",
                "AIGUILLAGE_ALERT_EMAIL_TO": "a@example.org",
            },
            "AIGUILLAGE_ALERT_EMAIL_FROM",
        ),
        ({"AIGUILLAGE_ALERT_SMTP_URL": "imap://mail.example.org"}, "AIGUILLAGE_ALERT_SMTP_URL"),
        ({"AIGUILLAGE_ALERT_EMAIL_TO": "a@example.org"}, "AIGUILLAGE_ALERT_SMTP_URL"),
        (
            {
                "AIGUILLAGE_ALERT_SMTP_URL": "smtp://mail.example.org",
                "AIGUILLAGE_ALERT_EMAIL_FROM": "a@example.org",
                "AIGUILLAGE_ALERT_EMAIL_TO": "not an address",
            },
            "AIGUILLAGE_ALERT_EMAIL_TO",
        ),
        ({"AIGUILLAGE_ALERT_WEBHOOK_TOKEN": "t"}, "AIGUILLAGE_ALERT_WEBHOOK_URL"),
        ({"AIGUILLAGE_ALERT_WEBHOOK_URL": "ftp://host/x"}, "AIGUILLAGE_ALERT_WEBHOOK_URL"),
    ],
)
def test_bad_configuration_names_the_variable(alert_env, env, named):
    for name, value in env.items():
        alert_env.setenv(name, value)
    with pytest.raises(AlertConfigError, match=named):
        send_alert(_alert())


def test_smtp_url_ports_and_tls(alert_env):
    from aiguillage.alerts.settings import load_settings

    alert_env.setenv("AIGUILLAGE_ALERT_EMAIL_FROM", "a@example.org")
    alert_env.setenv("AIGUILLAGE_ALERT_EMAIL_TO", "b@example.org")
    alert_env.setenv("AIGUILLAGE_ALERT_SMTP_URL", "smtp://u:pw-x9@mail.example.org?starttls=1")
    smtp = load_settings().smtp
    assert (smtp.port, smtp.starttls, smtp.implicit_tls, smtp.user) == (587, True, False, "u")
    assert "pw-x9" not in repr(smtp) and smtp.password == "pw-x9"
    alert_env.setenv("AIGUILLAGE_ALERT_SMTP_URL", "smtps://mail.example.org")
    smtp = load_settings().smtp
    assert (smtp.port, smtp.starttls, smtp.implicit_tls, smtp.user) == (465, False, True, None)


# --------------------------------------------------------------------------------------------------
# Every task's failure callback
# --------------------------------------------------------------------------------------------------
class ExtractWithheld(Exception):
    """Stands for the extracts' own exception, recognised by its name (the callback imports nothing heavy)."""


def _failure_context(exception: BaseException, map_index: int = -1, **extra) -> dict:
    from types import SimpleNamespace

    import pendulum

    ti = SimpleNamespace(dag_id="referral_extracts", task_id="deliver_extract", map_index=map_index, try_number=3)
    return {"ti": ti, "exception": exception, "run_id": "scheduled__2026-11-04",
            "logical_date": pendulum.datetime(2026, 11, 4, tz="Europe/Paris"), **extra}


def test_a_task_failed_for_good_is_alerted_without_its_message(alert_env):
    from aiguillage.alerts.task_failure import on_task_failure

    error = RuntimeError('duplicate key value violates unique constraint: Key (nir)=(1 84 12 75 123 456 78)')
    with HttpSink() as hook:
        alert_env.setenv("AIGUILLAGE_ALERT_WEBHOOK_URL", hook.url)
        on_task_failure(_failure_context(error, map_index=4, code_structure="ALI05"))
    [post] = hook.received
    alert = post.json
    assert alert["event"] == "aiguillage.task_failed" and alert["day"] == "2026-11-04"
    assert alert["summary"] == "2026-11-04: task referral_extracts.deliver_extract[ALI05] failed (RuntimeError) after 3 tries"
    assert "nir" not in json.dumps(alert).lower() and "123 456" not in json.dumps(alert)


def test_an_extract_withheld_is_left_to_the_run_report(alert_env):
    from aiguillage.alerts.task_failure import on_task_failure

    try:
        try:
            raise ExtractWithheld("ALI05: extract withheld by the quality gate")
        except ExtractWithheld as withheld:
            raise RuntimeError("task failed") from withheld
    except RuntimeError as failure:
        error = failure
    with HttpSink() as hook:
        alert_env.setenv("AIGUILLAGE_ALERT_WEBHOOK_URL", hook.url)
        on_task_failure(_failure_context(error))
    assert hook.received == []


def test_the_failure_callback_never_raises(alert_env, caplog):
    from aiguillage.alerts.task_failure import on_task_failure

    alert_env.setenv("AIGUILLAGE_ALERT_EMAIL_TO", "ops@example.org")  # without an SMTP URL: bad settings
    with caplog.at_level(logging.WARNING):
        on_task_failure(_failure_context(ValueError("boom")))
    assert "the failure alert could not be sent: AlertConfigError" in caplog.text
