"""Re-delivering an agency's extract on request: the very bytes delivered, from the outbox's archive, to
the outbox or over SFTP, recorded as a re-delivery; refused when the archived bytes are gone or differ."""

from __future__ import annotations

import hashlib
import json

import pytest
from sftp_server import SftpServer
from test_extract_writer import DAY, SAMPLE, create_lines

from aiguillage.extracts import files
from aiguillage.extracts.delivery import RedeliveryRefused, deliver, redeliver
from aiguillage.extracts.destinations import Destination
from aiguillage.extracts.writer import write_extract
from tests.conftest import run_cli

CSV = "orientations_ALI05_20261102.csv"
MANIFEST = "orientations_ALI05_20261102.manifest.json"
STOCK = "stock_ALI05_20261102.csv"


@pytest.fixture
def lines(conn, monkeypatch):
    monkeypatch.delenv("AIGUILLAGE_DELIVERY_CONFIG", raising=False)
    create_lines(conn, SAMPLE)
    return conn


@pytest.fixture
def outbox(tmp_path):
    return tmp_path / "outbox"


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def deliver_day(conn, outbox, destination=None, fichiers=("mouvements", "stock")) -> dict[str, dict]:
    """Write and deliver the agency's files as the extracts DAG does (staged, then placed)."""
    staging = files.staging_folder(outbox, "ALI05", DAY)
    delivered = {}
    for fichier in fichiers:
        extract = write_extract(conn, DAY, "ALI05", fichier, staging, "run-1")
        deliver(conn, DAY, "ALI05", extract, destination or Destination("ALI05"), outbox, "run-1")
        delivered[fichier] = extract
    return delivered


def counts(conn) -> tuple[int, int]:
    found = conn.execute("SELECT (SELECT count(*) FROM registry.extract_delivery),"
                         " (SELECT count(*) FROM registry.extract_redelivery)").fetchone()
    conn.commit()
    return found


def test_delivery_keeps_the_bytes_in_the_archive(lines, outbox):
    delivered = deliver_day(lines, outbox)
    archive = outbox / "_archive" / "ALI05" / "2026-11-02"
    assert sorted(p.name for p in archive.iterdir()) == sorted(
        [CSV, MANIFEST, STOCK, "stock_ALI05_20261102.manifest.json"])
    assert sha(archive / CSV) == delivered["mouvements"]["sha256"]
    assert json.loads((archive / MANIFEST).read_text())["sha256"] == delivered["mouvements"]["sha256"]
    # The outbox's staged copy goes away after delivery: the archive does not depend on it.
    files.staging_folder(outbox, "ALI05", DAY).joinpath(CSV).unlink()
    assert sha(archive / CSV) == delivered["mouvements"]["sha256"]


def test_redeliver_command_places_the_same_bytes_and_records_a_redelivery(lines, outbox):
    delivered = deliver_day(lines, outbox)
    folder = outbox / "ALI05" / "2026-11-02"
    manifest_bytes = (folder / MANIFEST).read_bytes()
    # The agency's pickup took the stock away and its copy of the movements got damaged.
    (folder / STOCK).unlink()
    (folder / CSV).write_bytes(b"damaged")

    result = run_cli("redeliver", "--agency", "ALI05", "--date", "2026-11-02", "--outbox", str(outbox))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Re-delivered mouvements of ALI05 for 2026-11-02 unchanged: 4 rows, sha256 " \
           f"{delivered['mouvements']['sha256']}" in result.stdout
    assert sha(folder / CSV) == delivered["mouvements"]["sha256"]
    assert sha(folder / STOCK) == delivered["stock"]["sha256"]
    assert (folder / MANIFEST).read_bytes() == manifest_bytes
    assert counts(lines) == (2, 2), "a re-delivery is recorded as such, never as a second delivery"
    rows = lines.execute(
        "SELECT d.fichier, d.sha256, r.method, r.target FROM registry.extract_redelivery r"
        " JOIN registry.extract_delivery d USING (delivery_id) ORDER BY d.fichier").fetchall()
    assert rows == [("mouvements", delivered["mouvements"]["sha256"], "outbox", str(folder / CSV)),
                    ("stock", delivered["stock"]["sha256"], "outbox", str(folder / STOCK))]

    only_stock = run_cli("redeliver", "--agency", "ali05", "--date", "2026-11-02", "--outbox", str(outbox),
                         "--fichier", "stock")
    assert only_stock.returncode == 0, only_stock.stdout + only_stock.stderr
    assert "Re-delivered stock" in only_stock.stdout and "Re-delivered mouvements" not in only_stock.stdout
    assert counts(lines) == (2, 3)


def test_redeliver_places_the_latest_version_after_a_replacement(lines, outbox):
    first = deliver_day(lines, outbox, fichiers=("mouvements",))["mouvements"]
    lines.execute("UPDATE identifiants.identifiants__extract_lines SET adresse = '3 rue Neuve'")
    lines.commit()
    changed = write_extract(lines, DAY, "ALI05", "mouvements", files.staging_folder(outbox, "ALI05", DAY), "run-2")
    deliver(lines, DAY, "ALI05", changed, Destination("ALI05"), outbox, "run-2", replace=True)
    assert changed["sha256"] != first["sha256"]

    (outbox / "ALI05" / "2026-11-02" / CSV).unlink()
    placed = redeliver(lines, DAY, "ALI05", Destination("ALI05"), outbox)
    assert [(item["fichier"], item["sha256"]) for item in placed] == [("mouvements", changed["sha256"])]
    assert sha(outbox / "ALI05" / "2026-11-02" / CSV) == changed["sha256"]


def test_redeliver_refuses_when_the_archived_bytes_are_gone_or_differ(lines, outbox):
    deliver_day(lines, outbox)
    folder, archive = outbox / "ALI05" / "2026-11-02", files.archive_folder(outbox, "ALI05", DAY)
    for path in folder.iterdir():
        path.unlink()

    # Someone edited the archived CSV: what would be sent is not what was delivered.
    archived = archive / CSV
    original = archived.read_bytes()
    archived.unlink()  # a new file, so that the staged copy linked to the old one stays as it was
    archived.write_bytes(original.replace(b"TESTNOM", b"AUTRENOM"))
    changed = run_cli("redeliver", "--agency", "ALI05", "--date", "2026-11-02", "--outbox", str(outbox))
    assert changed.returncode == 1
    assert f"refused: the archived copy of {CSV} for ALI05 on 2026-11-02 differs from what was delivered" \
        in changed.stdout
    assert "TESTNOM" not in changed.stdout + changed.stderr
    assert list(folder.iterdir()) == [], "nothing is placed when any file of the day fails its check"

    archived.unlink()
    gone = run_cli("redeliver", "--agency", "ALI05", "--date", "2026-11-02", "--outbox", str(outbox))
    assert gone.returncode == 1 and f"the archived copy of {CSV} delivered to ALI05 for 2026-11-02 is gone" \
        in gone.stdout

    # A manifest that no longer describes the CSV is refused as well.
    archived.write_bytes(original)
    manifest = archive / MANIFEST
    text = manifest.read_text()
    manifest.unlink()
    manifest.write_text(text.replace(json.loads(text)["sha256"], "0" * 64))
    with pytest.raises(RedeliveryRefused, match="differs from what was delivered"):
        redeliver(lines, DAY, "ALI05", Destination("ALI05"), outbox)

    with pytest.raises(RedeliveryRefused, match="nothing was delivered to SSD05 for 2026-11-02"):
        redeliver(lines, DAY, "SSD05", Destination("SSD05"), outbox)
    nothing = run_cli("redeliver", "--agency", "ALI05", "--date", "2026-11-03", "--outbox", str(outbox))
    assert nothing.returncode == 1 and "nothing was delivered to ALI05 for 2026-11-03" in nothing.stdout
    assert counts(lines) == (2, 0)


def test_redeliver_over_sftp_uploads_the_archived_bytes(lines, outbox, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    remote = tmp_path / "remote"
    destination = Destination("ALI05", "sftp", "sftp_ali05", "/depot")
    with SftpServer(remote, password="s3cret-pass") as server:
        monkeypatch.setenv("AIRFLOW_CONN_SFTP_ALI05", server.airflow_connection())
        delivered = deliver_day(lines, outbox, destination, fichiers=("mouvements",))["mouvements"]
        # The agency's server lost the day's files; our staged copy is gone too.
        remote_folder = remote / "depot" / "2026-11-02"
        for path in remote_folder.iterdir():
            path.unlink()
        for path in files.staging_folder(outbox, "ALI05", DAY).iterdir():
            path.unlink()
        writes = len(server.writes())

        placed = redeliver(lines, DAY, "ALI05", destination, outbox)
        assert len(server.writes()) == writes + 2
    assert placed == [{"fichier": "mouvements", "format": "csv", "sha256": delivered["sha256"], "rows": 4, "method": "sftp",
                       "target": f"sftp://sftp_ali05/depot/2026-11-02/{CSV}", "delivery_id": placed[0]["delivery_id"]}]
    assert sorted(p.name for p in remote_folder.iterdir()) == [CSV, MANIFEST]
    assert sha(remote_folder / CSV) == delivered["sha256"]
    assert json.loads((remote_folder / MANIFEST).read_text())["sha256"] == delivered["sha256"]
    assert not (outbox / "ALI05").exists(), "an SFTP agency's files are not placed in the outbox"
    assert counts(lines) == (1, 1)
    target = lines.execute("SELECT target FROM registry.extract_redelivery").fetchone()[0]
    assert "s3cret" not in target
