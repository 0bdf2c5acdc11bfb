"""Pseudonyms computed in the warehouse: HMAC-SHA256 under a key that never leaves the database."""

from __future__ import annotations

import time

import psycopg
import pytest

from aiguillage import pseudonyms


@pytest.mark.parametrize("key", ["k" * 20, "x" * 80, "une-clé-accentuée-assez-longue"])
@pytest.mark.parametrize("identifier", ["1850793066123", "héllo", "", "MARTIN|ÉLODIE|1995-03-08|1"])
def test_sql_pseudonym_is_hmac_sha256(conn, key, identifier):
    pseudonyms.install_key(conn, key)
    got = conn.execute("SELECT aiguillage_meta.pseudonym(%s)", (identifier,)).fetchone()[0]
    assert got == pseudonyms.pseudonym(identifier, key)


def test_no_key_no_pseudonym(conn):
    assert conn.execute("SELECT aiguillage_meta.pseudonym('1850793066123')").fetchone() == (None,)


def test_changing_the_key_changes_every_pseudonym(conn):
    pseudonyms.install_key(conn, "first-key-0123456789")
    first = conn.execute("SELECT aiguillage_meta.pseudonym('x')").fetchone()[0]
    pseudonyms.install_key(conn, "second-key-0123456789")
    assert conn.execute("SELECT aiguillage_meta.pseudonym('x')").fetchone()[0] != first
    assert conn.execute("SELECT count(*) FROM aiguillage_meta.pseudonymisation_key").fetchone() == (1,)


def test_pseudonyms_are_cheap(conn):
    pseudonyms.install_key(conn, "a-key-for-the-speed-check")
    started = time.perf_counter()
    conn.execute("SELECT count(DISTINCT aiguillage_meta.pseudonym(g::text)) FROM generate_series(1, 100000) g")
    assert time.perf_counter() - started < 5  # about 0.3 s here; 100,000 people is a large département


def test_key_is_required_with_a_configured_warehouse(monkeypatch):
    monkeypatch.setenv("AIGUILLAGE_WAREHOUSE_URL", "postgresql://u@h/db")
    monkeypatch.delenv(pseudonyms.KEY_VAR, raising=False)
    with pytest.raises(pseudonyms.MissingKeyError):
        pseudonyms.current_key()
    monkeypatch.setenv(pseudonyms.KEY_VAR, "short")
    with pytest.raises(pseudonyms.MissingKeyError):
        pseudonyms.current_key()


def test_key_table_is_closed_to_other_roles(conn, intruder):
    pseudonyms.install_key(conn, "a-key-nobody-else-reads")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        intruder.execute("SELECT * FROM aiguillage_meta.pseudonymisation_key").fetchall()


def test_the_embedded_warehouse_exported_to_child_processes_needs_no_key(monkeypatch, tmp_path):
    # The stack hands its workers the embedded server's URL: still the embedded warehouse, not a configured one.
    from aiguillage import embedded_pg

    monkeypatch.setenv("AIGUILLAGE_HOME", str(tmp_path))
    monkeypatch.delenv(pseudonyms.KEY_VAR, raising=False)
    monkeypatch.setenv("AIGUILLAGE_WAREHOUSE_URL", embedded_pg.url_for(tmp_path))
    assert pseudonyms.current_key() == pseudonyms._DEVELOPMENT_KEY
    monkeypatch.setenv("AIGUILLAGE_WAREHOUSE_URL", embedded_pg.url_for(tmp_path / "another-home"))
    with pytest.raises(pseudonyms.MissingKeyError):
        pseudonyms.current_key()
