"""The embedded warehouse: a real PostgreSQL 16 (from the ``pgserver`` wheel) under ``$AIGUILLAGE_HOME``.

Life cycle, designed for a laptop or a CI box with nothing else running:

* started on demand by the first command that needs the warehouse, reused by concurrent commands;
* stopped when the last command using it exits (users are tracked by pid, dead pids pruned), unless
  an operator pinned it with ``aiguillage warehouse start``;
* initialised atomically: ``initdb`` runs in a side folder that is renamed into place only once
  complete, so an interrupted first start never leaves a half-initialised cluster behind.

Only a unix socket is opened (no TCP port), in a folder only this server uses.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiguillage.pids import alive

log = logging.getLogger(__name__)

DATABASE = "aiguillage"
SUPERUSER = "postgres"
_SYSTEM_USER_WHEN_ROOT = "pgserver"  # PostgreSQL refuses to run as root
_MAX_SOCKET_PATH = 100  # unix socket paths are limited to 107 bytes


@dataclass(frozen=True)
class EmbeddedServer:
    pgdata: Path
    socket_dir: Path
    url: str


def _install_dir() -> Path:
    """PostgreSQL binaries shipped in the pgserver wheel (found without importing the package,
    whose import has side effects we do not need)."""
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded warehouse needs the 'pgserver' package (run ./aiguillage setup)")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall"


def _bin(name: str) -> str:
    return str(_install_dir() / "bin" / name)


def _system_user() -> str | None:
    return _SYSTEM_USER_WHEN_ROOT if os.geteuid() == 0 else None


def _paths(home: Path) -> tuple[Path, Path, Path]:
    base = home / "warehouse"
    return base, base / "pgdata", base / "users.json"


def _socket_dir(base: Path) -> Path:
    candidate = base / "run"
    if len(str(candidate / ".s.PGSQL.5432")) <= _MAX_SOCKET_PATH:
        return candidate
    digest = hashlib.sha256(str(base).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"aiguillage-pg-{digest}"


def _url(socket_dir: Path) -> str:
    return f"postgresql://{SUPERUSER}@/{DATABASE}?host={socket_dir}"


@contextmanager
def _locked(base: Path) -> Iterator[None]:
    base.mkdir(parents=True, exist_ok=True)
    with open(base / "lifecycle.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(args: list[str], *, user: str | None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, user=user, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(
            f"embedded PostgreSQL: {' '.join(args[:1])} {args[1:]} failed "
            f"(exit {result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
        )
    return result


def _grant_access(path: Path, user: str | None) -> None:
    """As root, PostgreSQL runs as a dedicated system user that must own its folders."""
    if user is None:
        return
    import pwd

    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", user],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(user)
    install = _install_dir()
    for folder in (path, install):
        _allow_traversal(folder)
    for root, dirs, files in os.walk(install):
        for name in dirs + files:
            target = Path(root) / name
            mode = target.stat().st_mode
            target.chmod(mode | 0o044 | (0o011 if mode & 0o100 else 0))
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _allow_traversal(path: Path) -> None:
    """Let the server's system user walk down to ``path`` (o+rx on every parent)."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if mode & 0o055 != 0o055:
            parent.chmod(mode | 0o055)


def _initialise(pgdata: Path, user: str | None) -> None:
    if (pgdata / "PG_VERSION").is_file():
        return
    # A folder without PG_VERSION is the trace of an interrupted older layout: never trust it.
    if pgdata.exists():
        shutil.rmtree(pgdata)
    staging = pgdata.with_name(pgdata.name + ".initialising")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _grant_access(staging, user)
    log.info("initialising the embedded warehouse in %s", pgdata)
    _run(
        [_bin("initdb"), "-D", str(staging), "--auth=trust", "--encoding=UTF8", "--locale=C",
         "-U", SUPERUSER],
        user=user,
        timeout=120,
    )
    os.rename(staging, pgdata)  # atomic: the cluster appears complete or not at all


def _is_running(pgdata: Path, user: str | None) -> bool:
    result = subprocess.run([_bin("pg_ctl"), "-D", str(pgdata), "status"], user=user,
                            capture_output=True, text=True)
    return result.returncode == 0


def _start(pgdata: Path, socket_dir: Path, user: str | None) -> None:
    socket_dir.mkdir(parents=True, exist_ok=True)
    _grant_access(socket_dir, user)
    log_file = pgdata / "server.log"
    _run(
        [_bin("pg_ctl"), "-D", str(pgdata), "-w", "-t", "60", "-l", str(log_file),
         "-o", f"-h '' -k {socket_dir} -c fsync=on -c max_connections=60", "start"],
        user=user,
        timeout=90,
    )


def _create_database(url_socket_dir: Path) -> None:
    import psycopg

    dsn = f"postgresql://{SUPERUSER}@/postgres?host={url_socket_dir}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')


def _read_users(users_file: Path) -> dict:
    try:
        return json.loads(users_file.read_text())
    except (FileNotFoundError, ValueError):
        return {"pids": [], "pinned": False}


def _write_users(users_file: Path, users: dict) -> None:
    tmp = users_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(users))
    os.replace(tmp, users_file)


_registered: set[Path] = set()
# The servers this process has joined, with their postmaster's pid: every warehouse connection asks
# for the URL, and seeing the same postmaster still alive costs microseconds where the full check
# (lock, pg_ctl status, users file) costs 20 ms. A server stopped or restarted since takes the full path.
_joined: dict[Path, tuple[EmbeddedServer, int | None]] = {}


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        first_line = (pgdata / "postmaster.pid").read_text().split("\n", 1)[0].strip()
    except (FileNotFoundError, PermissionError):
        return None
    return int(first_line) if first_line.isdigit() and alive(int(first_line)) else None


def ensure_running(home: Path) -> EmbeddedServer:
    """Start (or join) the embedded server for ``home`` and return how to reach it."""
    joined, joined_pid = _joined.get(home, (None, None))
    if joined is not None and joined_pid is not None and _postmaster_pid(joined.pgdata) == joined_pid:
        return joined
    base, pgdata, users_file = _paths(home)
    socket_dir = _socket_dir(base)
    user = _system_user()
    with _locked(base):
        _initialise(pgdata, user)
        if not _is_running(pgdata, user):
            started = time.monotonic()
            _start(pgdata, socket_dir, user)
            log.info("embedded warehouse started in %.2fs", time.monotonic() - started)
        _create_database(socket_dir)
        users = _read_users(users_file)
        pids = [pid for pid in users["pids"] if alive(pid)]
        if os.getpid() not in pids:
            pids.append(os.getpid())
        users["pids"] = pids
        _write_users(users_file, users)
    if home not in _registered:
        _registered.add(home)
        atexit.register(release, home)
    server = EmbeddedServer(pgdata=pgdata, socket_dir=socket_dir, url=_url(socket_dir))
    _joined[home] = (server, _postmaster_pid(pgdata))
    return server


def url_for(home: Path) -> str:
    """The URL the embedded server of ``home`` answers on (nothing is started)."""
    base, _, _ = _paths(home)
    return _url(_socket_dir(base))


def release(home: Path) -> None:
    """This process no longer needs the server: stop it if nobody else does."""
    _joined.pop(home, None)
    base, pgdata, users_file = _paths(home)
    if not pgdata.exists():
        return
    with _locked(base):
        users = _read_users(users_file)
        pids = [pid for pid in users["pids"] if alive(pid) and pid != os.getpid()]
        users["pids"] = pids
        _write_users(users_file, users)
        if not pids and not users.get("pinned"):
            _stop_locked(pgdata)
    _registered.discard(home)


def pin(home: Path) -> EmbeddedServer:
    """Keep the server running after this command exits (``aiguillage warehouse start``)."""
    server = ensure_running(home)
    base, _, users_file = _paths(home)
    with _locked(base):
        users = _read_users(users_file)
        users["pinned"] = True
        _write_users(users_file, users)
    return server


def stop(home: Path) -> bool:
    """Stop the server now, whoever uses it (``aiguillage warehouse stop``). True if it was running."""
    _joined.pop(home, None)
    base, pgdata, users_file = _paths(home)
    if not pgdata.exists():
        return False
    with _locked(base):
        _write_users(users_file, {"pids": [], "pinned": False})
        return _stop_locked(pgdata)


def _stop_locked(pgdata: Path) -> bool:
    user = _system_user()
    if not _is_running(pgdata, user):
        return False
    # "fast" rolls back open transactions and shuts down cleanly (no recovery at next start).
    _run([_bin("pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"], user=user, timeout=60)
    return True


def status(home: Path) -> dict:
    base, pgdata, users_file = _paths(home)
    initialised = (pgdata / "PG_VERSION").is_file()
    running = initialised and _is_running(pgdata, _system_user())
    users = _read_users(users_file)
    return {
        "pgdata": str(pgdata),
        "initialised": initialised,
        "running": running,
        "pinned": bool(users.get("pinned")),
        "url": _url(_socket_dir(base)) if initialised else None,
    }
