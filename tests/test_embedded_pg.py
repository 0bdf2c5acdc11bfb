"""The embedded warehouse: started on demand, reused, stopped cleanly, never half-initialised."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from aiguillage import embedded_pg

pytestmark = pytest.mark.slow


def _python(code: str, home: Path, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)],
                            env={**os.environ, "AIGUILLAGE_HOME": str(home)}, **popen)


def test_starts_on_demand_and_stops_when_the_last_user_exits(tmp_path):
    home = tmp_path / "home"
    code = """
        from pathlib import Path
        import os, psycopg
        from aiguillage import embedded_pg
        server = embedded_pg.ensure_running(Path(os.environ["AIGUILLAGE_HOME"]))
        with psycopg.connect(server.url) as conn:
            conn.execute("CREATE TABLE kept (x int)")
            conn.execute("INSERT INTO kept VALUES (42)")
        """
    assert _python(code, home).wait(timeout=120) == 0
    assert embedded_pg.status(home)["running"] is False, "server must stop when its last user exits"
    # Reused: the data survives, the next command finds it.
    server = embedded_pg.ensure_running(home)
    try:
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT x FROM kept").fetchone() == (42,)
    finally:
        embedded_pg.release(home)
    assert embedded_pg.status(home)["running"] is False


def test_concurrent_users_share_one_server(tmp_path):
    home = tmp_path / "home"
    server = embedded_pg.ensure_running(home)
    try:
        code = """
            from pathlib import Path
            import os, psycopg
            from aiguillage import embedded_pg
            server = embedded_pg.ensure_running(Path(os.environ["AIGUILLAGE_HOME"]))
            with psycopg.connect(server.url) as conn:
                conn.execute("SELECT 1")
            """
        children = [_python(code, home) for _ in range(3)]
        assert [child.wait(timeout=120) for child in children] == [0, 0, 0]
        # The children left, this process still uses the server: it must still be up.
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        embedded_pg.release(home)
    assert not embedded_pg.status(home)["running"]


def test_interrupted_first_start_leaves_no_half_initialised_cluster(tmp_path):
    home = tmp_path / "home"
    code = """
        from pathlib import Path
        import os
        from aiguillage import embedded_pg
        embedded_pg.ensure_running(Path(os.environ["AIGUILLAGE_HOME"]))
        """
    child = _python(code, home, start_new_session=True)
    staging = home / "warehouse" / "pgdata.initialising"
    deadline = time.monotonic() + 60
    while not (staging / "base").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert staging.exists(), "initdb never started"
    os.killpg(child.pid, signal.SIGKILL)  # the user's Ctrl-C, or a machine reset, in the middle of initdb
    child.wait(timeout=30)
    pgdata = home / "warehouse" / "pgdata"
    assert not pgdata.exists() or (pgdata / "PG_VERSION").is_file()
    # The next start recovers by itself and gives a working cluster.
    server = embedded_pg.ensure_running(home)
    try:
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("aiguillage",)
        assert not staging.exists()
    finally:
        embedded_pg.release(home)


def test_pinned_server_survives_its_command_until_stopped(tmp_path):
    home = tmp_path / "home"
    code = """
        from pathlib import Path
        import os
        from aiguillage import embedded_pg
        embedded_pg.pin(Path(os.environ["AIGUILLAGE_HOME"]))
        """
    assert _python(code, home).wait(timeout=120) == 0
    assert embedded_pg.status(home)["running"] and embedded_pg.status(home)["pinned"]
    assert embedded_pg.stop(home) is True
    assert not embedded_pg.status(home)["running"]
    assert embedded_pg.stop(home) is False


def test_only_a_unix_socket_is_opened(tmp_path):
    home = tmp_path / "home"
    server = embedded_pg.ensure_running(home)
    try:
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SHOW listen_addresses").fetchone() == ("",)
    finally:
        embedded_pg.release(home)


def test_a_joined_server_is_reused_without_a_check_and_restarted_once_stopped(tmp_path, monkeypatch):
    home = tmp_path / "home"
    server = embedded_pg.ensure_running(home)
    try:
        # Every warehouse connection asks for the URL: once joined, no pg_ctl, no lock.
        spawned = []
        real_run = subprocess.run
        monkeypatch.setattr(embedded_pg.subprocess, "run", lambda *a, **k: spawned.append(a) or real_run(*a, **k))
        assert [embedded_pg.ensure_running(home).url for _ in range(20)] == [server.url] * 20
        assert spawned == []

        # Stopped by another process (``aiguillage warehouse stop``): the next call starts it again.
        stopper = _python("""
            import os
            from pathlib import Path
            from aiguillage import embedded_pg
            assert embedded_pg.stop(Path(os.environ["AIGUILLAGE_HOME"]))
        """, home)
        assert stopper.wait(timeout=120) == 0
        again = embedded_pg.ensure_running(home)
        assert spawned, "a stopped server must be checked and started, not assumed"
        with psycopg.connect(again.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        embedded_pg.stop(home)
