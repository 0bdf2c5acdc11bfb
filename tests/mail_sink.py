"""Real network peers for alert tests, on 127.0.0.1 with a random port, each in its own thread.

MailSink is a minimal SMTP server (EHLO/HELO, optional AUTH PLAIN/LOGIN, MAIL FROM, RCPT TO, DATA,
RSET, NOOP, QUIT) that records every message it accepts. HttpSink records every POST and can
answer 500 the first N times or 400 on demand.
"""

from __future__ import annotations

import base64
import json
import socketserver
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_to: list[str]
    data: bytes
    auth: tuple[str, str] | None = None

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


def _b64(text: str) -> str:
    return base64.b64decode(text).decode()


class _SmtpHandler(socketserver.StreamRequestHandler):
    server: _SmtpServer

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def read_line(self) -> str | None:
        raw = self.rfile.readline(65537)
        return raw.decode(errors="replace").rstrip("\r\n") if raw else None

    def handle(self) -> None:
        self.reply("220 127.0.0.1 test mail sink")
        auth: tuple[str, str] | None = None
        mail_from: str | None = None
        rcpt_to: list[str] = []
        while (line := self.read_line()) is not None:
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.reply("250-127.0.0.1")
                self.reply("250-AUTH PLAIN LOGIN")
                self.reply("250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 127.0.0.1")
            elif verb == "AUTH":
                auth = self.authenticate(arg)
                if auth is None:
                    self.reply("535 authentication failed")
                else:
                    self.reply("235 authenticated")
            elif verb == "MAIL":
                mail_from, rcpt_to = arg.split(":", 1)[1].strip().strip("<>"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                rcpt_to.append(arg.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                if mail_from is None or not rcpt_to:
                    self.reply("503 MAIL FROM and RCPT TO first")
                    continue
                self.reply("354 end with <CRLF>.<CRLF>")
                data = self.read_data()
                self.server.sink.received.append(ReceivedMail(mail_from, rcpt_to, data, auth))
                mail_from, rcpt_to = None, []
                self.reply("250 OK queued")
            elif verb == "RSET":
                mail_from, rcpt_to = None, []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 command not implemented")

    def authenticate(self, arg: str) -> tuple[str, str] | None:
        try:
            user, password = self.read_credentials(arg)
        except ValueError:  # bad base64, missing fields, unknown mechanism
            return None
        expected = self.server.sink.credentials
        if expected is not None and (user, password) != expected:
            return None
        return user, password

    def read_credentials(self, arg: str) -> tuple[str, str]:
        mechanism, _, initial = arg.partition(" ")
        mechanism = mechanism.upper()
        if mechanism == "PLAIN":
            if not initial:
                self.reply("334 ")
                initial = self.read_line() or ""
            _, user, password = _b64(initial).split("\0", 2)
        elif mechanism == "LOGIN":
            if not initial:
                self.reply("334 " + base64.b64encode(b"Username:").decode())
                initial = self.read_line() or ""
            user = _b64(initial)
            self.reply("334 " + base64.b64encode(b"Password:").decode())
            password = _b64(self.read_line() or "")
        else:
            raise ValueError(f"unsupported AUTH mechanism {mechanism}")
        return user, password

    def read_data(self) -> bytes:
        lines = []
        while True:
            raw = self.rfile.readline(65537)
            if not raw or raw in (b".\r\n", b".\n"):
                break
            lines.append(raw[1:] if raw.startswith(b"..") else raw)  # undo dot-stuffing
        return b"".join(lines)


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    sink: MailSink


class MailSink:
    """``with MailSink() as sink: ... sink.received`` — an SMTP server on 127.0.0.1:sink.port.

    credentials=(user, password) makes AUTH check them (535 otherwise); by default any is accepted.
    """

    def __init__(self, credentials: tuple[str, str] | None = None):
        self.credentials = credentials
        self.received: list[ReceivedMail] = []
        self._server = _SmtpServer(("127.0.0.1", 0), _SmtpHandler)
        self._server.sink = self
        self.port: int = self._server.server_address[1]

    def __enter__(self) -> MailSink:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class ReceivedPost:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class _HttpBehaviour:
    fail_first: int = 0  # answer 500 to this many POSTs, then 200
    status: int | None = None  # answer this status to every POST (e.g. 400)
    received: list[ReceivedPost] = field(default_factory=list)


class _HttpHandler(BaseHTTPRequestHandler):
    server: _HttpServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        behaviour = self.server.behaviour
        behaviour.received.append(
            ReceivedPost(self.path, dict(self.headers.items()), self.rfile.read(length))
        )
        if behaviour.status is not None:
            status = behaviour.status
        elif len(behaviour.received) <= behaviour.fail_first:
            status = 500
        else:
            status = 200
        body = b'{"ok": %s}' % (b"true" if status < 300 else b"false")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:  # keep test output clean
        pass


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    behaviour: _HttpBehaviour


class HttpSink:
    """``with HttpSink(fail_first=2) as sink: ... sink.received`` — an HTTP server recording POSTs.

    ``sink.url`` is its base URL; ``sink.status = 400`` makes every later POST answer 400.
    """

    def __init__(self, fail_first: int = 0, status: int | None = None):
        self._server = _HttpServer(("127.0.0.1", 0), _HttpHandler)
        self._server.behaviour = _HttpBehaviour(fail_first=fail_first, status=status)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def received(self) -> list[ReceivedPost]:
        return self._server.behaviour.received

    @property
    def status(self) -> int | None:
        return self._server.behaviour.status

    @status.setter
    def status(self, value: int | None) -> None:
        self._server.behaviour.status = value

    def __enter__(self) -> HttpSink:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
