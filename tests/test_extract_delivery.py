"""Delivering the extracts: to the outbox, over SFTP to a real loopback server, recorded once; and the
delivery configuration."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import paramiko
import pytest
from sftp_server import SftpServer
from test_extract_writer import DAY, SAMPLE, create_lines

from aiguillage.extracts import delivery, files
from aiguillage.extracts.delivery import DeliveryRefused, deliver, served_before
from aiguillage.extracts.destinations import (
    DeliveryConfigError,
    Destination,
    ReferentialRow,
    load_destinations,
    referential_from_warehouse,
)
from aiguillage.extracts.writer import write_extract

CSV = "orientations_ALI05_20261102.csv"
MANIFEST = "orientations_ALI05_20261102.manifest.json"


@pytest.fixture
def lines(conn):
    create_lines(conn, SAMPLE)
    return conn


@pytest.fixture
def outbox(tmp_path):
    return tmp_path / "outbox"


@pytest.fixture
def staging(outbox):
    return files.staging_folder(outbox, "ALI05", DAY)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded(conn) -> list[tuple]:
    rows = conn.execute("SELECT code_structure, day, fichier, sha256, row_count, method, target, run_id"
                        " FROM registry.extract_delivery ORDER BY delivery_id").fetchall()
    conn.commit()
    return rows


def change_lines(conn) -> None:
    conn.execute("UPDATE identifiants.identifiants__extract_lines SET adresse = '3 rue Neuve'")
    conn.commit()


# -- outbox --------------------------------------------------------------------------------------------

def test_outbox_delivery_places_files_and_records_once(lines, staging, outbox):
    extract = write_extract(lines, DAY, "ALI05", "mouvements", staging, "run-1")
    # The destination as it comes through XCom.
    result = deliver(lines, DAY, "ALI05", extract, Destination("ALI05").as_dict(), outbox, "run-1")

    folder = outbox / "ALI05" / "2026-11-02"
    assert result == {"code_structure": "ALI05", "fichier": "mouvements", "format": "csv", "state": "delivered",
                      "method": "outbox", "target": str(folder / CSV), "sha256": extract["sha256"], "rows": 4}
    assert sorted(p.name for p in folder.iterdir()) == [CSV, MANIFEST]
    assert sha(folder / CSV) == extract["sha256"] == json.loads((folder / MANIFEST).read_text())["sha256"]
    assert recorded(lines) == [("ALI05", DAY, "mouvements", extract["sha256"], 4, "outbox", str(folder / CSV),
                                "run-1")]

    # A retry (same bytes, written again) does nothing.
    mtime = (folder / CSV).stat().st_mtime_ns
    again = write_extract(lines, DAY, "ALI05", "mouvements", staging, "run-2")
    assert deliver(lines, DAY, "ALI05", again, Destination("ALI05"), outbox, "run-2")["state"] == "already_delivered"
    assert (folder / CSV).stat().st_mtime_ns == mtime
    assert len(recorded(lines)) == 1

    assert served_before(lines, "ALI05", DAY) is False
    assert served_before(lines, "ALI05", date(2026, 11, 3)) is True
    assert served_before(lines, "SSD05", date(2026, 11, 3)) is False


def test_outbox_written_in_place_is_only_recorded(lines, outbox):
    folder = outbox / "ALI05" / "2026-11-02"
    extract = write_extract(lines, DAY, "ALI05", "stock", folder, "run-1")
    result = deliver(lines, DAY, "ALI05", extract, Destination("ALI05"), outbox, "run-1")
    assert result["state"] == "delivered" and result["target"] == str(folder / "stock_ALI05_20261102.csv")
    assert sorted(p.name for p in folder.iterdir()) == ["stock_ALI05_20261102.csv",
                                                        "stock_ALI05_20261102.manifest.json"]


def test_changed_file_for_a_delivered_day_is_refused_unless_replaced(lines, staging, outbox):
    first = write_extract(lines, DAY, "ALI05", "mouvements", staging, "run-1")
    deliver(lines, DAY, "ALI05", first, Destination("ALI05"), outbox, "run-1")
    folder = outbox / "ALI05" / "2026-11-02"

    change_lines(lines)
    changed = write_extract(lines, DAY, "ALI05", "mouvements", staging, "run-2")
    with pytest.raises(DeliveryRefused, match=f"{CSV} for ALI05 on 2026-11-02 differs .* replace=True"):
        deliver(lines, DAY, "ALI05", changed, Destination("ALI05"), outbox, "run-2")
    assert sha(folder / CSV) == first["sha256"]  # the agency's file did not move
    assert len(recorded(lines)) == 1

    replaced = deliver(lines, DAY, "ALI05", changed, Destination("ALI05"), outbox, "run-2", replace=True)
    assert replaced["state"] == "delivered"
    assert sha(folder / CSV) == changed["sha256"] == json.loads((folder / MANIFEST).read_text())["sha256"]
    assert [row[3] for row in recorded(lines)] == [first["sha256"], changed["sha256"]]  # the old record stays


def test_file_changed_after_writing_is_not_delivered(lines, staging, outbox):
    extract = write_extract(lines, DAY, "ALI05", "mouvements", staging, "run-1")
    (staging / CSV).write_bytes(b"tampered")
    with pytest.raises(RuntimeError, match="changed since it was written"):
        deliver(lines, DAY, "ALI05", extract, Destination("ALI05"), outbox, "run-1")
    assert not (outbox / "ALI05").exists() and recorded(lines) == []


# -- SFTP ----------------------------------------------------------------------------------------------

class Crash(Exception):
    pass


@pytest.fixture
def airflow_home(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))


def test_sftp_delivery_uploads_once_and_survives_a_lost_record(lines, staging, outbox, tmp_path, airflow_home,
                                                               monkeypatch):
    remote = tmp_path / "remote"
    destination = Destination("ALI05", "sftp", "sftp_ali05", "/depot")
    with SftpServer(remote, password="s3cret-pass") as server:
        monkeypatch.setenv("AIRFLOW_CONN_SFTP_ALI05", server.airflow_connection())
        extract = write_extract(lines, DAY, "ALI05", "mouvements", staging, "run-1")

        # The process "dies" after the transfer, before the record is committed.
        with pytest.raises(Crash), lines.transaction():
            deliver(lines, DAY, "ALI05", extract, destination, outbox, "run-1")
            raise Crash
        assert len(server.writes()) == 2 and recorded(lines) == []

        result = deliver(lines, DAY, "ALI05", extract, destination, outbox, "run-1")
        assert result["state"] == "delivered"
        assert result["target"] == f"sftp://sftp_ali05/depot/2026-11-02/{CSV}"
        assert len(server.writes()) == 4  # uploaded again, same bytes, same names: harmless

        retry = deliver(lines, DAY, "ALI05", extract, destination, outbox, "run-2")
        assert retry["state"] == "already_delivered" and len(server.writes()) == 4  # nothing uploaded

    folder = remote / "depot" / "2026-11-02"
    assert sorted(p.name for p in folder.iterdir()) == [CSV, MANIFEST]  # no temporary name left
    assert sha(folder / CSV) == extract["sha256"] == json.loads((folder / MANIFEST).read_text())["sha256"]
    assert [write.rsplit("/", 1)[1] for write in server.writes()[:2]] == [f".{CSV}.part", f".{MANIFEST}.part"]
    rows = recorded(lines)
    assert [(r[5], r[6]) for r in rows] == [("sftp", f"sftp://sftp_ali05/depot/2026-11-02/{CSV}")]
    assert "s3cret" not in json.dumps([str(r) for r in rows])
    assert not (outbox / "ALI05").exists()  # an SFTP agency's files are not placed in the outbox


def test_sftp_changed_file_refused_then_replaced_with_key_auth(lines, staging, outbox, tmp_path, airflow_home,
                                                               monkeypatch):
    key = paramiko.ECDSAKey.generate()
    remote = tmp_path / "remote"
    destination = Destination("ALI05", "sftp", "sftp_ali05", "/depot")
    with SftpServer(remote, authorized_key=key) as server:
        monkeypatch.setenv("AIRFLOW_CONN_SFTP_ALI05", server.airflow_connection(private_key=key))
        first = write_extract(lines, DAY, "ALI05", "mouvements", staging, "run-1")
        deliver(lines, DAY, "ALI05", first, destination, outbox, "run-1")

        change_lines(lines)
        changed = write_extract(lines, DAY, "ALI05", "mouvements", staging, "run-2")
        with pytest.raises(DeliveryRefused, match="differs from the file already delivered"):
            deliver(lines, DAY, "ALI05", changed, destination, outbox, "run-2")
        assert len(server.writes()) == 2

        deliver(lines, DAY, "ALI05", changed, destination, outbox, "run-2", replace=True)
        assert len(server.writes()) == 4
    assert sha(remote / "depot" / "2026-11-02" / CSV) == changed["sha256"]
    assert len(recorded(lines)) == 2


def test_delivery_record_migration_is_commented(conn):
    missing = conn.execute(
        "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = 'registry.extract_delivery'::regclass"
        " AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'delivery_id'"
        " AND col_description(a.attrelid, a.attnum) IS NULL").fetchall()
    assert missing == []
    assert delivery.served_before(conn, "ALI05", DAY) is False


# -- configuration -------------------------------------------------------------------------------------

REFERENTIAL = [
    ReferentialRow("ALI05", date(2023, 3, 1), None, True),
    ReferentialRow("ALI20", date(2027, 1, 1), None, True),
    ReferentialRow("SSD05", None, None, True),
    ReferentialRow("FT93", None, None, False),
]


def test_everyone_by_outbox_without_configuration(monkeypatch):
    monkeypatch.delenv("AIGUILLAGE_DELIVERY_CONFIG", raising=False)
    assert load_destinations(DAY, referential=REFERENTIAL) == {
        "ALI05": Destination("ALI05"), "SSD05": Destination("SSD05")}
    from_seed = load_destinations(DAY)  # the checkout's seed: ALI, SSD, Missions locales, Cap emploi; not FT93
    assert {"ALI05", "ALI20", "SSD22", "ML04", "CAP93"} <= from_seed.keys() and "FT93" not in from_seed


def test_toml_and_json_configuration(tmp_path, monkeypatch):
    toml = tmp_path / "delivery.toml"
    toml.write_text('[default]\nmethod = "outbox"\n\n[destinations.ALI05]\nmethod = "sftp"\n'
                    'conn_id = "sftp_ali05"\nremote_dir = "/depot/{code_structure}/"\n', encoding="utf-8")
    monkeypatch.setenv("AIGUILLAGE_DELIVERY_CONFIG", str(toml))
    found = load_destinations(DAY, referential=REFERENTIAL)
    assert found["ALI05"] == Destination("ALI05", "sftp", "sftp_ali05", "/depot/ALI05")
    assert found["SSD05"] == Destination("SSD05")
    assert found["ALI05"].describe() == "sftp://sftp_ali05/depot/ALI05"

    as_json = tmp_path / "delivery.json"
    as_json.write_text(json.dumps({"default": {"method": "sftp", "conn_id": "sftp_depot",
                                               "remote_dir": "/in/{code_structure}"},
                                   "destinations": {"SSD05": {"method": "outbox"}}}), encoding="utf-8")
    found = load_destinations(DAY, referential=REFERENTIAL, path=as_json)
    assert found == {"ALI05": Destination("ALI05", "sftp", "sftp_depot", "/in/ALI05"),
                     "SSD05": Destination("SSD05")}


@pytest.mark.parametrize(("text", "message"), [
    ('[destinations.ALI99]\nmethod = "outbox"\n', r"destinations\.ALI99 is not an agency"),
    ('[destinations.ALI05]\nmethod = "ftp"\n', r"destinations\.ALI05\.method is 'ftp'"),
    ('[destinations.ALI05]\nmethod = "sftp"\nconn_id = "x"\nremote_dir = "/d"\npassword = "p"\n',
     r"destinations\.ALI05\] password looks like a credential"),
    ('[destinations.ALI05]\nmethod = "sftp"\nconn-id = "x"\n', r"unknown key destinations\.ALI05\.conn-id"),
    ('[destinations.ALI05]\nmethod = "sftp"\nremote_dir = "/d"\n', r"destinations\.ALI05\.conn_id must name"),
    ('[destinations.ALI05]\nmethod = "sftp"\nconn_id = "x"\nremote_dir = "depot"\n', r"remote_dir must be an absolute"),
    ('[destinations.ALI05]\nmethod = "outbox"\nremote_dir = "/d"\n', r"remote_dir only applies to method"),
    ('[default]\nmethod = "pigeon"\n', r"default\.method is 'pigeon'"),
    ('[destinataires.ALI05]\nmethod = "outbox"\n', r"unknown section 'destinataires'"),
    ('[destinations.ALI05\n', r"is not valid TOML"),
    # A code configured but not receiving on the day is still checked.
    ('[destinations.ALI20]\nmethod = "sftp"\n', r"destinations\.ALI20\.conn_id must name"),
])
def test_configuration_errors_name_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "delivery.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DeliveryConfigError, match=message) as error:
        load_destinations(DAY, referential=REFERENTIAL, path=path)
    assert str(path) in str(error.value)


def test_missing_configuration_file(tmp_path, monkeypatch):
    monkeypatch.setenv("AIGUILLAGE_DELIVERY_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(DeliveryConfigError, match="absent.toml .AIGUILLAGE_DELIVERY_CONFIG. cannot be read"):
        load_destinations(DAY, referential=REFERENTIAL)


def test_referential_from_the_warehouse(conn, monkeypatch):
    monkeypatch.delenv("AIGUILLAGE_DELIVERY_CONFIG", raising=False)
    conn.execute("CREATE SCHEMA referentiel")
    conn.execute("CREATE TABLE referentiel.destinations (code_structure text, type_structure text, parcours text,"
                 " code_territoire text, libelle text, actif_du date, actif_au date, recoit_extrait boolean)")
    conn.execute("INSERT INTO referentiel.destinations VALUES ('ALI05', 'ALI', 'PSO', 'T05', 'x', '2023-03-01',"
                 " '2026-11-01', true), ('SSD05', 'SSD', 'PSP', 'T05', 'y', NULL, NULL, true)")
    assert referential_from_warehouse(conn)[0] == ReferentialRow("ALI05", date(2023, 3, 1), date(2026, 11, 1), True)
    # ALI05 closed the day before: no extract for it.
    assert list(load_destinations(DAY, conn=conn, path=None)) == ["SSD05"]
