"""The Celery broker: a configured Redis, the machine's Redis, or one started for the stack."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

BROKER_VAR = "AIGUILLAGE_CELERY_BROKER_URL"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


class NoBroker(RuntimeError):
    """No Redis to be found or started."""


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    """True when a Redis server answers PING at ``url``."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout) as sock:
            if parts.password:
                user = parts.username or "default"
                sock.sendall(f"AUTH {user} {parts.password}\r\n".encode())
                sock.recv(64)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_or_start(run_dir: Path, log_file: Path) -> tuple[str, int | None]:
    """(broker URL, pid of the redis-server started here or None)."""
    configured = os.environ.get(BROKER_VAR)
    if configured:
        if not redis_answers(configured):
            raise NoBroker(f"{BROKER_VAR} names a Redis that does not answer: {_redacted(configured)}")
        return configured, None
    if redis_answers(DEFAULT_BROKER):
        return DEFAULT_BROKER, None
    binary = redis_server_binary()
    if binary is None:
        raise NoBroker(
            "no Redis answers on 127.0.0.1:6379 and no redis-server is installed: install Redis "
            f"(e.g. apt install redis-server) or set {BROKER_VAR}"
        )
    port = free_port()
    run_dir.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    # Loopback only, nothing kept on disk: the queue is rebuilt by the scheduler after a restart.
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(run_dir)],
        stdout=open(log_file, "ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if redis_answers(url):
            return url, process.pid
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    raise NoBroker(f"redis-server did not start; see {log_file}")


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", ":***@") if parts.password else url
