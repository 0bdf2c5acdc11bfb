"""Properties of the France Travail and ALI readers on random and damaged input.

Whatever the bytes, a file ends either as records + rejects (known reason codes, increasing line
numbers, values shaped for their table) or as a QuarantineError: never another exception.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from aiguillage.ingest.ali_reader import ALI_COLUMNS, MAX_CHARS, event_motifs, read_ali_report  # noqa: E402
from aiguillage.ingest.france_travail_reader import (  # noqa: E402
    COLUMNS_BY_KIND,
    job_seeker_categories,
    read_france_travail,
)
from aiguillage.ingest.france_travail_reader import MAX_CHARS as FT_MAX_CHARS  # noqa: E402
from aiguillage.ingest.raw_tables import COLUMNS, REJECT_REASONS, QuarantineError  # noqa: E402
from aiguillage.nir import is_valid_nir, make_nir  # noqa: E402

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])
ENCODINGS = [("iso-8859-1", "\r\n"), ("utf-8-sig", "\r\n"), ("utf-8", "\n")]
ALI_HEADER = "code_structure;date_rapport;id_orientation;evenement;date_evenement;motif;referent_nom;referent_email"
TODAY = date(2026, 11, 26)

# Text a partner could put in a field: Latin-1 letters (so every encoding can carry it), no separator,
# no line break, no NUL (binary content is the byte-mutation tests' business).
field_text = st.text(st.characters(max_codepoint=0xFF, blacklist_characters=";\r\n\x00"), max_size=20)
noise_line = st.text(st.characters(max_codepoint=0xFF, blacklist_characters="\x00"), max_size=80)
names = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZÉÈÇÏÔ -'"), min_size=1, max_size=15)


def ft_date(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


@st.composite
def nirs(draw) -> str:
    nir = make_nir(draw(st.sampled_from([1, 2, 7, 8])), draw(st.integers(1900, 2025)),
                   draw(st.integers(1, 12)), draw(st.sampled_from(["93", "75", "2A", "2B", "99"])),
                   draw(st.integers(1, 999)), draw(st.integers(1, 999)))
    return draw(st.sampled_from([nir, nir[:13]]))


def ft_categories():
    """A category as a file may write it: a code of the seed (1 to 8, F, G), "01", lower case, padded."""
    codes = sorted(job_seeker_categories())
    return st.one_of(st.sampled_from(codes), st.sampled_from(codes).map(str.lower),
                     st.sampled_from([f"0{code}" for code in codes if code.isdigit()]),
                     st.sampled_from(codes).map(lambda code: f" {code} "))


@st.composite
def ft_valid_lines(draw, kind: str) -> str:
    nir = draw(nirs())
    fields = [
        nir, draw(st.from_regex(r"[0-9]{7}[A-Z0-9][0-9]{3}", fullmatch=True)), draw(names), draw(names),
        ft_date(draw(st.dates(date(1930, 1, 1), date(2010, 12, 31)))),
        ft_date(draw(st.dates(date(2000, 1, 1), date(2030, 12, 31)))), draw(ft_categories()),
    ]
    if "motif" in COLUMNS_BY_KIND[kind]:
        fields.append(draw(field_text))
    # codeinsee, localite, adresse, ale, within their bounds (FT_MAX_CHARS)
    fields += [nir, draw(st.sampled_from(["", "93066", "93048", "2A004"])), draw(field_text), draw(field_text),
               draw(field_text.map(lambda text: text[:FT_MAX_CHARS["ale"]]))]
    return ";".join(fields)


@st.composite
def mutated(draw, line: str) -> str:
    """A line with a few characters replaced, deleted or inserted (separators included)."""
    characters = list(line)
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(characters)))
        operation = draw(st.sampled_from(["replace", "delete", "insert"]))
        character = draw(st.one_of(st.sampled_from(";/0-9 A\"\r"),
                                   st.characters(max_codepoint=0xFF, blacklist_characters="\x00\n")))
        if operation == "insert" or position == len(characters):
            characters.insert(position, character)
        elif operation == "delete":
            del characters[position]
        else:
            characters[position] = character
    return "".join(characters)


@st.composite
def ali_valid_lines(draw, agency: str) -> str:
    motifs = event_motifs()
    evenement = draw(st.sampled_from(sorted(motifs)))
    motif = draw(st.sampled_from(sorted(motifs[evenement]))) if motifs[evenement] else ""
    date_rapport = draw(st.dates(date(2026, 1, 1), TODAY))
    date_evenement = draw(st.dates(date(2025, 1, 1), date_rapport))
    email = draw(st.sampled_from(["", "a.b@example.org", "x@ali05.fr"]))
    return ";".join([agency, date_rapport.isoformat(), f"ORI-{draw(st.integers(0, 40)):06d}", evenement,
                     date_evenement.isoformat(), motif, draw(field_text), email])


def any_line(valid):
    return st.one_of(valid, valid.flatmap(mutated), noise_line, st.just(""))


def write_lines(path: Path, lines: list[str], encoding: str, newline: str) -> Path:
    path.write_bytes("".join(line + newline for line in lines).encode(encoding))
    return path


def rows_or_quarantine(rows_iterable, path: Path) -> list | None:
    try:
        return list(rows_iterable)
    except QuarantineError as error:
        assert path.name in str(error)
        return None


def check_rows(rows: list, record_table: str, reject_table: str) -> None:
    """Tables, value counts and types, reason codes and increasing line numbers."""
    previous_line = 1  # the header is at least line 1
    for row in rows:
        assert row.table in (record_table, reject_table)
        assert len(row.values) == len(COLUMNS[row.table])
        line_number = row.values[0]
        assert isinstance(line_number, int) and line_number > previous_line
        previous_line = line_number
        for value in row.values[1:]:
            assert value is None or isinstance(value, str | date)
            assert not isinstance(value, str) or "\x00" not in value  # COPY refuses NUL in text
        if row.table == reject_table:
            _, reason_code, detail, raw_line = row.values
            assert reason_code in REJECT_REASONS
            assert detail and isinstance(detail, str)
            assert "\n" not in raw_line


def check_ft_records(rows: list) -> None:
    for row in rows:
        if row.table == "france_travail_record":
            record = dict(zip(COLUMNS["france_travail_record"], row.values, strict=True))
            assert is_valid_nir(record["nir"])
            assert isinstance(record["dtnai"], date) and isinstance(record["date_evenement"], date)
            assert record["code"] in job_seeker_categories()  # as the seed writes it
            for column, limit in FT_MAX_CHARS.items():  # no value past its contract's length
                assert not isinstance(record.get(column), str) or len(record[column]) <= limit


def check_ali_records(rows: list, agency: str, today: date) -> None:
    for row in rows:
        if row.table == "ali_report_line":
            record = dict(zip(COLUMNS["ali_report_line"], row.values, strict=True))
            for column, limit in MAX_CHARS.items():  # no value past its contract's length
                assert not isinstance(record.get(column), str) or len(record[column]) <= limit
            assert record["code_structure"] == agency
            assert record["evenement"] in event_motifs()
            assert record["date_evenement"] <= min(today, record["date_rapport"])


@pytest.fixture
def work_file(tmp_path) -> Path:
    return tmp_path / "file.csv"


# --- France Travail -------------------------------------------------------------------------------


@st.composite
def ft_files(draw):
    kind = draw(st.sampled_from(sorted(COLUMNS_BY_KIND)))
    header = ";".join(COLUMNS_BY_KIND[kind])
    header = draw(st.one_of(st.just(header), st.just(header), mutated(header)))
    lines = draw(st.lists(any_line(ft_valid_lines(kind)), max_size=8))
    return kind, [header, *lines], draw(st.sampled_from(ENCODINGS))


@PROPERTY_SETTINGS
@given(ft_files())
def test_ft_random_lines_end_as_rows_or_quarantine(work_file, generated):
    kind, lines, (encoding, newline) = generated
    path = write_lines(work_file, lines, encoding, newline)
    rows = rows_or_quarantine(read_france_travail(path, kind), path)
    if rows is not None:
        check_rows(rows, "france_travail_record", "france_travail_reject")
        check_ft_records(rows)


@PROPERTY_SETTINGS
@given(st.sampled_from(sorted(COLUMNS_BY_KIND)).flatmap(
    lambda kind: st.tuples(st.just(kind), st.lists(ft_valid_lines(kind), max_size=8),
                           st.sampled_from(ENCODINGS))))
def test_ft_valid_lines_all_become_records(work_file, generated):
    kind, lines, (encoding, newline) = generated
    path = write_lines(work_file, [";".join(COLUMNS_BY_KIND[kind]), *lines], encoding, newline)
    rows = list(read_france_travail(path, kind))
    assert [row.table for row in rows] == ["france_travail_record"] * len(lines)
    assert [row.values[0] for row in rows] == list(range(2, len(lines) + 2))
    assert [row.values[2] for row in rows] == [line.split(";")[0] for line in lines]
    assert [row.values[4] for row in rows] == [line.split(";")[2].strip() or None for line in lines]


@PROPERTY_SETTINGS
@given(st.tuples(ft_valid_lines("stock"), st.one_of(
    nirs(), nirs().flatmap(mutated), st.from_regex(r"[0-9AB]{12,16}", fullmatch=True),
    st.tuples(nirs(), st.integers(0, 99)).map(lambda drawn: f"{drawn[0][:13]}{drawn[1]:02d}"),  # any key
)))
def test_ft_line_is_a_record_exactly_when_its_nir_is_valid(work_file, generated):
    line, nir = generated
    fields = line.split(";")
    fields[0] = fields[7] = nir  # the same value in both columns: only the NIR rules can fail
    if ";" in nir or "\r" in nir:
        return  # not a single-field NIR any more: column rules, covered elsewhere
    path = write_lines(work_file, [";".join(COLUMNS_BY_KIND["stock"]), ";".join(fields)], "utf-8", "\n")
    (row,) = read_france_travail(path, "stock")
    if is_valid_nir(nir.strip()):
        assert row.table == "france_travail_record"
    else:
        assert row.values[1] in ("NIR_FORMAT", "NIR_KEY")


@PROPERTY_SETTINGS
@given(st.tuples(ft_valid_lines("stock"), st.one_of(ft_categories(), field_text, st.from_regex(r"[0-9A-Za-z]{1,3}",
                                                                                               fullmatch=True))))
def test_ft_line_is_a_record_exactly_when_its_category_is_in_the_seed(work_file, generated):
    line, code = generated
    fields = line.split(";")
    fields[6] = code
    path = write_lines(work_file, [";".join(COLUMNS_BY_KIND["stock"]), ";".join(fields)], "utf-8", "\n")
    (row,) = read_france_travail(path, "stock")
    written = code.strip().upper()
    seed_code = written[1:] if len(written) == 2 and written[0] == "0" and written[1].isdigit() else written
    if seed_code in job_seeker_categories():
        assert row.table == "france_travail_record" and row.values[8] == seed_code
    else:
        assert row.values[1] == "CODE_MISSING"


@PROPERTY_SETTINGS
@given(st.sampled_from(sorted(COLUMNS_BY_KIND)).flatmap(lambda kind: st.tuples(
    st.just(kind), ft_valid_lines(kind),
    st.sampled_from(sorted(set(FT_MAX_CHARS) & set(COLUMNS_BY_KIND[kind]))), st.integers(-2, 3))))
def test_ft_value_past_its_bound_rejects_the_line_without_quoting_it(work_file, generated):
    kind, line, column, excess = generated
    columns = COLUMNS_BY_KIND[kind]
    fields = line.split(";")
    value = "É" * (FT_MAX_CHARS[column] + excess)
    fields[columns.index(column)] = f"  {value} "  # padding does not count
    path = write_lines(work_file, [";".join(columns), ";".join(fields)], "iso-8859-1", "\r\n")
    (row,) = read_france_travail(path, kind)
    if excess > 0:
        assert row.values[1:3] == ("FIELD_TOO_LONG", f"column {column} has {len(value)} characters, "
                                                      f"at most {FT_MAX_CHARS[column]} allowed")
    else:
        assert row.table == "france_travail_record"


@st.composite
def damaged_bytes(draw, content: bytes) -> bytes:
    data = bytearray(content)
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(data)))
        byte = draw(st.one_of(st.sampled_from(b";\r\n\x00\xef\xbb\xbf\xc3\xe9\xff"), st.integers(0, 255)))
        operation = draw(st.sampled_from(["replace", "delete", "insert", "truncate"]))
        if operation == "truncate":
            del data[position:]
        elif operation == "insert" or position == len(data):
            data.insert(position, byte)
        elif operation == "delete":
            del data[position]
        else:
            data[position] = byte
    return bytes(data)


FT_SMALL_FILE = (
    "nir;identifiantpe;nom;prenom;dtnai;date;code;nir2;codeinsee;localite;adresse;ale\r\n"
    "2900599350045;4521877K012;BENALI;SAMIRA;03/05/1990;14/10/2026;1;2900599350045;93066;SAINT-DENIS;"
    "12 RUE DE LA REPUBLIQUE;93061\r\n"
    "1781093048012;0345678A901;DUPRÉ;FRANÇOIS;01/10/1978;02/09/2025;2;1781093048012;93048;MONTREUIL;"
    "3 RUE ROBESPIERRE;93045\r\n"
)


@PROPERTY_SETTINGS
@given(st.sampled_from(["iso-8859-1", "utf-8-sig", "utf-8"]).flatmap(
    lambda encoding: damaged_bytes(FT_SMALL_FILE.encode(encoding))))
def test_ft_damaged_bytes_end_as_rows_or_quarantine(work_file, content):
    work_file.write_bytes(content)
    rows = rows_or_quarantine(read_france_travail(work_file, "inscriptions"), work_file)
    if rows is not None:
        check_rows(rows, "france_travail_record", "france_travail_reject")
        check_ft_records(rows)


# --- ALI ------------------------------------------------------------------------------------------


@st.composite
def ali_files(draw):
    header = draw(st.one_of(st.just(ALI_HEADER), st.just(ALI_HEADER), mutated(ALI_HEADER)))
    writer = draw(st.sampled_from(["ALI05", "ALI06"]))  # ALI06 lines are in the wrong folder
    lines = draw(st.lists(any_line(ali_valid_lines(writer)), max_size=8))
    return [header, *lines], draw(st.sampled_from(ENCODINGS)), draw(st.dates(date(2026, 1, 1), TODAY))


@PROPERTY_SETTINGS
@given(ali_files())
def test_ali_random_lines_end_as_rows_or_quarantine(work_file, generated):
    lines, (encoding, newline), today = generated
    path = write_lines(work_file, lines, encoding, newline)
    rows = rows_or_quarantine(read_ali_report(path, "ALI05", today), path)
    if rows is not None:
        check_rows(rows, "ali_report_line", "ali_report_reject")
        check_ali_records(rows, "ALI05", today)


ALI_SMALL_FILE = (
    f"{ALI_HEADER}\r\n"
    "ALI05;2026-11-26;ORI-1;PRISE_EN_CHARGE;2026-11-24;;Hélène Çelik;h.celik@example.org\r\n"
    '"ALI05";"2026-11-26";"ORI-2";"SORTIE";"2026-11-20";"EMPLOI";"Paul; Mercier";\r\n'
)


@PROPERTY_SETTINGS
@given(st.sampled_from(["iso-8859-1", "utf-8-sig", "utf-8"]).flatmap(
    lambda encoding: damaged_bytes(ALI_SMALL_FILE.encode(encoding))))
def test_ali_damaged_bytes_end_as_rows_or_quarantine(work_file, content):
    work_file.write_bytes(content)
    rows = rows_or_quarantine(read_ali_report(work_file, "ALI05", TODAY), work_file)
    if rows is not None:
        check_rows(rows, "ali_report_line", "ali_report_reject")
        check_ali_records(rows, "ALI05", TODAY)


@st.composite
def ali_lines_with_a_long_value(draw):
    """A valid ALI05 line, one of whose columns gets a value past (or exactly at) its bound."""
    fields = draw(ali_valid_lines("ALI05")).split(";")
    fields[ALI_COLUMNS.index("referent_nom")] = "Nadia Ferhat"  # no quote: the line's only fault is the length
    column = draw(st.sampled_from(ALI_COLUMNS))
    extra = draw(st.integers(-1, 3000))  # -1: exactly at the bound, still too odd to pass other rules
    fields[ALI_COLUMNS.index(column)] = "x" * (MAX_CHARS[column] + extra) if extra >= 0 else fields[
        ALI_COLUMNS.index(column)]
    return column, extra, ";".join(fields)


@PROPERTY_SETTINGS
@given(ali_lines_with_a_long_value(), st.sampled_from(ENCODINGS))
def test_ali_value_past_its_bound_rejects_the_line_never_the_file(work_file, generated, encoding):
    column, extra, line = generated
    path = write_lines(work_file, [ALI_HEADER, line, ALI_HEADER.replace("code_structure", "ALI05").replace(
        "date_rapport", "2026-11-26")], *encoding)
    rows = list(read_ali_report(path, "ALI05", TODAY))
    check_rows(rows, "ali_report_line", "ali_report_reject")
    check_ali_records(rows, "ALI05", TODAY)
    first = rows[0]
    if extra > 0:
        assert first.table == "ali_report_reject" and first.values[1] == "FIELD_TOO_LONG"
        assert column in first.values[2] and "x" * 20 not in first.values[2]  # the detail never quotes it
    assert len(rows) == 2  # the other line is judged on its own


@PROPERTY_SETTINGS
@given(ali_files())
def test_ali_reader_reads_a_landing_stream_as_it_reads_the_path(tmp_path, generated):
    """The loader hands the reader an opened, hashing stream: same rows, same quarantine, and the
    stream's hash is the file's."""
    import hashlib

    from aiguillage.landing.opened import open_landing

    lines, (encoding, newline), today = generated
    folder = tmp_path / "ali" / "ALI05"
    folder.mkdir(parents=True, exist_ok=True)
    path = write_lines(folder / "ali_ALI05_20261126.csv", lines, encoding, newline)

    def outcome(source):
        try:
            return list(read_ali_report(source, "ALI05", today))
        except QuarantineError as error:
            return str(error).split(": ", 1)[1]  # the rule, without the file's label

    with open_landing(tmp_path, "ali/ALI05/ali_ALI05_20261126.csv") as stream:
        assert outcome(stream) == outcome(path)
        stream.verify(hashlib.sha256(path.read_bytes()).hexdigest())
