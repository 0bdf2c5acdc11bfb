import os
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


@pytest.mark.parametrize("folder", ["ALI05\n", "ALI05\r", "\nALI05", "ALI05 ", "ali05", "ALI5"])
def test_an_agency_folder_must_be_exactly_an_agency_code(folder):
    placement = layout.classify(f"ali/{folder}/ali_ALI05_20261126.csv")
    assert placement.agency_code is None and "is not an agency code" in placement.problem


def test_every_code_pattern_refuses_a_trailing_newline():
    """A pattern anchored with "$" matches before a final newline: every code check uses \\Z."""
    from aiguillage.extracts import files
    from aiguillage.landing import layout
    from aiguillage.roles import names

    assert layout.AGENCY_CODE.match("ALI05") and not layout.AGENCY_CODE.match("ALI05\n")
    assert files._CODE.match("ALI05") and not files._CODE.match("ALI05\n")
    assert names._CODE.match("ALI05") and not names._CODE.match("ALI05\n")


# --- names as they are printed ----------------------------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from aiguillage.landing.names import has_unsafe_characters, printable  # noqa: E402


@pytest.mark.parametrize(("name", "shown"), [
    ("ali/ALI05/ali_ALI05_20261126.csv", "ali/ALI05/ali_ALI05_20261126.csv"),
    ("stock_\nforged.csv", "stock_\\nforged.csv"),
    ("a\r\tb", "a\\r\\tb"),
    ("red\x1b[31m.csv", "red\\x1b[31m.csv"),
    ("del\x7f.csv", "del\\x7f.csv"),
    ("c1\x85.csv", "c1\\x85.csv"),
    ("rtl\u202egpj.csv", "rtl\\u202egpj.csv"),
    ("line\u2028sep", "line\\u2028sep"),
    (os.fsdecode(b"latin\xe9.csv"), "latin\\xe9.csv"),
    (b"bytes\xff.csv", "bytes\\xff.csv"),
    ("Hélène Çelik.csv", "Hélène Çelik.csv"),
    (None, ""),
])
def test_printable_escapes_what_could_forge_a_line(name, shown):
    assert printable(name) == shown


@given(st.text())
def test_printable_never_leaves_a_control_character(name):
    shown = printable(name)
    assert not has_unsafe_characters(shown)
    assert "\n" not in shown and "\r" not in shown
    shown.encode("utf-8")  # storable and printable anywhere
    if not has_unsafe_characters(name):
        assert shown == name  # ordinary names are shown as they are


@given(st.binary(min_size=1, max_size=40))
def test_printable_shows_any_file_system_name(raw):
    shown = printable(os.fsdecode(raw))
    assert not has_unsafe_characters(shown)
    shown.encode("utf-8")


def test_log_fields_escape_a_name():
    from aiguillage.observability.log_context import fields

    assert fields(file="ali/x_\nforged=1.csv", rows=2) == "file=ali/x_\\nforged=1.csv rows=2"
