from datetime import date
from pathlib import Path

import pytest

from aiguillage.landing import layout
from aiguillage.landing.caf_header import HeaderError, declared_encoding, read_header

# The partners' hand-written sample of a daily flow (data contract §2), kept with the tests.
SAMPLE = Path(__file__).resolve().parent / "fixtures" / "caf_vrsb0801_daily_sample.xml"


@pytest.mark.parametrize(
    ("path", "source", "kind", "agency"),
    [
        ("caf/VRSB0801_931_20261126_I.xml", "caf", None, None),
        ("france_travail/inscriptions_20261126.csv", "france_travail", "inscriptions", None),
        ("france_travail/stock_20261101.csv", "france_travail", "stock", None),
        ("france_travail/RADIATIONS_20261126.CSV", "france_travail", "radiations", None),
        ("ali/ALI05/ali_ALI05_20261126.csv", "ali", "activity_report", "ALI05"),
    ],
)
def test_known_places(path, source, kind, agency):
    placement = layout.classify(path)
    assert (placement.source, placement.kind, placement.agency_code, placement.problem) == (
        source, kind, agency, None)


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("notes.txt", "not in a known place"),
        ("caf/sub/flow.xml", "not in a known place"),
        ("caf/flow.csv", "must be an .xml file"),
        ("france_travail/export_20261126.csv", "must start with one of"),
        ("ali/ALI23/ali_ALI23_20261126.csv", "not an agency code"),
        ("ali/ALI05/report.xlsx", "must be a .csv file"),
    ],
)
def test_misplaced_files_get_a_reason(path, words):
    assert words in layout.classify(path).problem


def test_date_in_name():
    assert layout.date_in_name("france_travail/inscriptions_20261126.csv") == date(2026, 11, 26)
    assert layout.date_in_name("caf/VRSB0801_931_20261102_M_bis.xml") == date(2026, 11, 2)
    assert layout.date_in_name("france_travail/stock.csv") is None
    assert layout.date_in_name("x/file_20261345.csv") is None  # not a date


def test_in_transit_files_are_skipped():
    assert layout.is_in_transit("caf/flow.xml.part")
    assert layout.is_in_transit("caf/.flow.xml")
    assert not layout.is_in_transit("caf/flow.xml")


def test_caf_header_of_the_sample():
    header = read_header(SAMPLE)
    assert header.fields["TYPEFLUX"] == "I"
    assert header.kind == "daily"
    assert header.created_on == date(2026, 11, 26)
    assert header.as_json()["DTREF"] == "2026-11-01"
    assert header.encoding == "UTF-8"


def test_caf_header_in_iso_8859_1(tmp_path):
    text = SAMPLE.read_text(encoding="utf-8").replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    text = text.replace("<NOM>MARTIN</NOM>", "<NOM>MARTIN-LEFÈVRE</NOM>")
    path = tmp_path / "flow.xml"
    path.write_bytes(text.encode("iso-8859-1"))
    header = read_header(path)
    assert header.encoding == "ISO-8859-1"
    assert header.kind == "daily"


def test_header_reads_only_the_start_of_a_truncated_file(tmp_path):
    data = SAMPLE.read_bytes()
    path = tmp_path / "truncated.xml"
    path.write_bytes(data[: len(data) // 2])  # cut in the middle of a dossier
    assert read_header(path).kind == "daily"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty file"),
        (b"<?xml version='1.0'?><Other><IdentificationFlux/></Other>", "expected <Racine>"),
        (b"<Racine><InfosFoyerRSA/></Racine>", "expected <IdentificationFlux>"),
        (b"<Racine><IdentificationFlux><TYPEFLUX>X</TYPEFLUX><NATFLUX>D</NATFLUX>"
         b"<DTCREAFLUX>2026-11-26</DTCREAFLUX></IdentificationFlux></Racine>", "is not M, I or R"),
        (b"<Racine><IdentificationFlux><TYPEFLUX>M</TYPEFLUX></IdentificationFlux></Racine>", "lacks"),
        (b"<Racine><IdentificationFlux><TYPEFLUX>M</TYPE", "ends before the end"),
        (b"name;prenom\nx;y\n", "not well-formed"),
    ],
)
def test_bad_headers_say_why(tmp_path, content, words):
    path = tmp_path / "bad.xml"
    path.write_bytes(content)
    with pytest.raises(HeaderError, match=words):
        read_header(path)


def test_declared_encoding_with_bom():
    assert declared_encoding(b"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>") == "UTF-8"
    assert declared_encoding(b"<Racine/>") == "UTF-8"
