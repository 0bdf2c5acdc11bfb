"""Properties of the CAF reader on damaged flows.

Whatever happens to the bytes of a valid VRSB0801 file, reading it either completes with rows that
would COPY (right width, right types, NOT NULL and keys respected) or raises QuarantineError:
never another exception. Damage confined to a dossier's content never sinks the file, and a file
cut anywhere before its end is always quarantined. The same flow reads the same in every encoding
its prolog may declare; an entity reference is always refused, a character reference never; a
value of any length is bounded by the schema; padding is trimmed.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from aiguillage.ingest import caf_reader  # noqa: E402
from aiguillage.ingest.caf_reader import read_caf  # noqa: E402
from aiguillage.ingest.caf_schema import caf_schema  # noqa: E402
from aiguillage.ingest.raw_tables import COLUMNS, QuarantineError, RawRow  # noqa: E402
from aiguillage.synth import generate  # noqa: E402
from tests.test_caf_reader import START, assert_rows_loadable  # noqa: E402

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)

ELEMENT = re.compile(rb"<([A-Za-z][A-Za-z0-9]*)>")
LEAF = re.compile(rb"<([A-Z][A-Z0-9]*)>([^<]*)</\1>")
DOSSIER = re.compile(rb"<InfosFoyerRSA>.*?</InfosFoyerRSA>", re.S)
# Values a partner could send in a field: wrong shapes, out-of-range numbers, odd characters.
ODD_VALUES = [
    b"",
    b" ",
    b"X",
    b"-1",
    b"+1",
    b"1e3",
    b"NaN",
    b"2024-02-30",
    b"2024-W05-3",
    b"31/12/2024",
    b"99999999999999",
    b"9" * 40,
    b"0.001",
    b"1,50",
    b"true",
    b"TRUE",
    b"25:61:00",
    b"&amp;",
    b"&lt;DTNAI&gt;",
    b"&#233;",
    b"\xc3\xa9",
    b"\xe9",
    b"  01  ",
    b"Z",
    b"DEM",
    b"RSA",
]


# Encodings a prolog may declare, as spelled, with the Python codec and whether a UTF-8 BOM comes first.
ENCODINGS = [
    ("windows-1252", "cp1252", False),
    ("WINDOWS-1252", "cp1252", False),
    ("cp1252", "cp1252", False),
    ("ISO-8859-15", "iso8859-15", False),
    ("latin9", "iso8859-15", False),
    ("ISO-8859-1", "iso-8859-1", False),
    ("latin1", "iso-8859-1", False),
    ("UTF-8", "utf-8", False),
    ("utf8", "utf-8", False),
    ("UTF-8", "utf-8", True),
]


def encoded(content: bytes, declared: str, codec: str, bom: bool) -> bytes:
    """A windows-1252 flow re-encoded (characters the target lacks become '?': the same in every variant)."""
    text = content.decode("cp1252")
    text = re.sub(r'encoding="[^"]+"', f'encoding="{declared}"', text, count=1)
    return (codecs.BOM_UTF8 if bom else b"") + text.encode(codec, errors="replace")


def common_text(content: bytes) -> bytes:
    """The flow with only characters every encoding of ENCODINGS has (so that all variants agree)."""
    text = content.decode("cp1252")
    return "".join(c if c.encode("iso-8859-1", "ignore") and c.encode("iso8859-15", "ignore") else "?"
                   for c in text).encode("cp1252")


@pytest.fixture(scope="module")
def flows(tmp_path_factory) -> list[bytes]:
    """A small monthly flow and a daily one as the generator writes them (windows-1252), and the same
    in ISO-8859-15 and UTF-8 with a BOM."""
    summary = generate(tmp_path_factory.mktemp("flows"), START, 8, 2, seed=4)
    contents = [path.read_bytes() for path in summary.files if path.parent.name == "caf"]
    assert {re.search(rb'encoding="([^"]+)"', c).group(1) for c in contents} == {b"windows-1252"}
    variants = [encoded(common_text(c), "ISO-8859-15", "iso8859-15", False) for c in contents]
    variants += [encoded(c, "UTF-8", "utf-8", True) for c in contents]
    return contents + variants


@pytest.fixture(scope="module")
def work_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("landing") / "caf"
    folder.mkdir()
    return folder / "VRSB0801_931_20261103_I.xml"


def read_or_quarantine(path: Path, content: bytes) -> list[RawRow] | None:
    """The rows of the file, or None when it was quarantined; any other exception fails the test."""
    path.write_bytes(content)
    rows: list[RawRow] = []
    try:
        for row in read_caf(path):
            rows.append(row)
    except QuarantineError as error:
        assert str(error).startswith("caf/VRSB0801_931_20261103_I.xml: ")
        assert_rows_loadable(rows)  # what came before the error must not break COPY either
        return None
    assert_rows_loadable(rows)
    return rows


def dossier_count(rows: list[RawRow]) -> int:
    return sum(row.table == "caf_dossier" for row in rows)


def element_span(content: bytes, match: re.Match) -> tuple[int, int] | None:
    """Start and end of the element whose start tag is `match` (None if it is not closed)."""
    end = content.find(b"</" + match.group(1) + b">", match.end())
    return None if end < 0 else (match.start(), end + len(match.group(1)) + 3)


@st.composite
def byte_damage(draw, content: bytes) -> bytes:
    """One fault of the kind transfers and storage make: bytes changed, inserted, removed, or a cut."""
    if not content:
        return draw(st.binary(max_size=8))
    kind = draw(st.sampled_from(["change", "insert", "remove", "cut"]))
    index = draw(st.integers(0, len(content) - 1))
    if kind == "change":
        return content[:index] + bytes([draw(st.integers(0, 255))]) + content[index + 1 :]
    if kind == "insert":
        return content[:index] + draw(st.binary(min_size=1, max_size=8)) + content[index:]
    if kind == "remove":
        return content[:index] + content[index + draw(st.integers(1, 64)) :]
    return content[:index]


@st.composite
def structure_damage(draw, content: bytes) -> bytes:
    """One fault of the kind a faulty producer makes: an element dropped or repeated, a value replaced."""
    elements = list(ELEMENT.finditer(content))
    if not elements:
        return content
    span = element_span(content, draw(st.sampled_from(elements)))
    if span is None:
        return content
    start, end = span
    kind = draw(st.sampled_from(["drop", "repeat", "value"]))
    if kind == "drop":
        return content[:start] + content[end:]
    if kind == "repeat":
        return content[:end] + content[start:end] + content[end:]
    value = draw(st.one_of(st.sampled_from(ODD_VALUES), st.text(max_size=12).map(str.encode)))
    inner_start = content.index(b">", start) + 1
    inner_end = content.rindex(b"</", start, end)
    return content[:inner_start] + value + content[inner_end:]


@st.composite
def damaged_flows(draw, bases: list[bytes]) -> bytes:
    content = draw(st.sampled_from(bases))
    for _ in range(draw(st.integers(1, 4))):
        content = draw(st.one_of(byte_damage(content), structure_damage(content)))
    return content


@PROPERTY_SETTINGS
@given(data=st.data())
def test_damaged_flow_reads_or_quarantines(flows, work_file, data):
    read_or_quarantine(work_file, data.draw(damaged_flows(flows)))


# Text a partner could put in a leaf, as it would be written (escaped; characters every flow encoding has).
leaf_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from(list("\téèàçÉÈÀÇÿ\xa0")), max_size=20
)


def escaped(text: str, encoding: bytes) -> bytes:
    escaped_text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped_text.encode(codecs.lookup(encoding.decode("ascii")).name)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_bad_values_inside_dossiers_never_sink_the_file(flows, work_file, data):
    content = data.draw(st.sampled_from(flows))
    encoding = re.search(rb'encoding="([^"]+)"', content).group(1)
    expected = dossier_count(read_or_quarantine(work_file, content))
    dossiers = [m.span() for m in DOSSIER.finditer(content)]
    leaves = [m for m in LEAF.finditer(content) if any(s <= m.start() < e for s, e in dossiers)]
    for _ in range(data.draw(st.integers(1, 6))):
        leaf = data.draw(st.sampled_from(leaves))
        value = data.draw(
            st.one_of(
                leaf_text.map(lambda t: escaped(t, encoding)),
                st.sampled_from([v for v in ODD_VALUES if v not in (b"\xc3\xa9", b"\xe9")]),
            )
        )
        content = content[: leaf.start(2)] + value + content[leaf.end(2) :]
        # Positions moved: find the leaves again in the new content.
        dossiers = [m.span() for m in DOSSIER.finditer(content)]
        leaves = [m for m in LEAF.finditer(content) if any(s <= m.start() < e for s, e in dossiers)]
    rows = read_or_quarantine(work_file, content)
    assert rows is not None, "bad values inside a dossier must be flagged, not quarantine the file"
    assert dossier_count(rows) == expected


@PROPERTY_SETTINGS
@given(data=st.data())
def test_missing_or_repeated_blocks_inside_dossiers_never_sink_the_file(flows, work_file, data):
    content = data.draw(st.sampled_from(flows))
    expected = dossier_count(read_or_quarantine(work_file, content))
    dossier = data.draw(st.sampled_from(list(DOSSIER.finditer(content))))
    inside = [m for m in ELEMENT.finditer(content, dossier.start() + 1, dossier.end())]
    start, end = element_span(content, data.draw(st.sampled_from(inside)))
    if data.draw(st.booleans()):
        content = content[:start] + content[end:]
    else:
        content = content[:end] + content[start:end] + content[end:]
    rows = read_or_quarantine(work_file, content)
    assert rows is not None, "a dossier missing or repeating a block is flagged, not quarantined"
    assert dossier_count(rows) == expected


@PROPERTY_SETTINGS
@given(data=st.data())
def test_a_flow_cut_before_its_end_is_always_quarantined(flows, work_file, data):
    content = data.draw(st.sampled_from(flows))
    root_end = content.rindex(b"</Racine>")
    assert read_or_quarantine(work_file, content[: data.draw(st.integers(0, root_end))]) is None


# ----- encodings, entities, oversize values, padding -----


def _comparable(rows: list[RawRow]) -> list[RawRow]:
    """Rows without what only the schema's verdict changes (SCHEMA_INVALID, schema_errors)."""
    flags_at = COLUMNS["caf_dossier"].index("flags")
    errors_at = COLUMNS["caf_dossier"].index("schema_errors")
    kept = []
    for row in rows:
        if row.table == "caf_dossier":
            values = list(row.values)
            values[flags_at] = [flag for flag in values[flags_at] if flag != "SCHEMA_INVALID"]
            values[errors_at] = []
            row = RawRow(row.table, tuple(values))
        kept.append(row)
    return kept


@PROPERTY_SETTINGS
@given(data=st.data())
def test_a_flow_reads_the_same_in_every_declared_encoding(flows, work_file, data):
    content = common_text(data.draw(st.sampled_from(flows[:2])))
    expected = read_or_quarantine(work_file, content)
    assert expected is not None
    declared, codec, bom = data.draw(st.sampled_from(ENCODINGS))
    assert read_or_quarantine(work_file, encoded(content, declared, codec, bom)) == expected


def _dossier_leaves(content: bytes) -> list[re.Match]:
    dossiers = [m.span() for m in DOSSIER.finditer(content)]
    return [m for m in LEAF.finditer(content) if any(s <= m.start() < e for s, e in dossiers)]


@PROPERTY_SETTINGS
@given(data=st.data())
def test_entity_references_are_refused_and_character_references_read(flows, work_file, data):
    content = data.draw(st.sampled_from(flows))
    leaf = data.draw(st.sampled_from(_dossier_leaves(content)))
    name = data.draw(st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True))
    if name in ("amp", "lt", "gt", "apos", "quot"):
        name += "x"
    entity = b"&" + name.encode("ascii") + b";"
    refused = content[: leaf.start(2)] + entity + content[leaf.end(2) :]
    path = work_file
    path.write_bytes(refused)
    with pytest.raises(QuarantineError, match="an entity reference other than"):
        list(read_caf(path))
    reference = data.draw(st.sampled_from([b"&#233;", b"&#x152;", b"&#8217;", b"&amp;", b"&lt;", b"&quot;", b"&apos;"]))
    accepted = content[: leaf.start(2)] + reference + content[leaf.end(2) :]
    assert read_or_quarantine(work_file, accepted) is not None


@PROPERTY_SETTINGS
@given(data=st.data())
def test_values_of_any_length_are_bounded_by_the_schema(flows, work_file, data):
    content = data.draw(st.sampled_from(flows))
    encoding = re.search(rb'encoding="([^"]+)"', content).group(1)
    limits = caf_schema().max_lengths
    for _ in range(data.draw(st.integers(1, 4))):
        leaf = data.draw(st.sampled_from(_dossier_leaves(content)))
        size = data.draw(st.sampled_from([29, 33, 201, 1_000, 70_000]))
        value = escaped(data.draw(st.sampled_from(["9", "Ç", "A B", "0"])) * size, encoding)
        content = content[: leaf.start(2)] + value + content[leaf.end(2) :]
    rows = read_or_quarantine(work_file, content)
    assert rows is not None, "a value too long is bounded and flagged, never a reason to quarantine"
    for row in rows:
        for column, key, value in zip(COLUMNS[row.table], caf_reader._KEYS[row.table], row.values, strict=True):
            if isinstance(value, str) and key in limits:
                assert len(value) <= limits[key], (row.table, column, len(value))
            if column == "caf_anomalies":
                assert all(len(item) <= limits["LIBANO"] for item in value)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_padding_is_trimmed(flows, work_file, data):
    content = data.draw(st.sampled_from(flows))
    expected = read_or_quarantine(work_file, content)
    for _ in range(data.draw(st.integers(1, 6))):
        leaves = [leaf for leaf in _dossier_leaves(content) if leaf.group(2).strip()]
        leaf = data.draw(st.sampled_from(leaves))
        before = data.draw(st.sampled_from([b"", b" ", b"\t", b"\n  "]))
        after = data.draw(st.sampled_from([b" ", b"  ", b"\t", b"\n", b" \r\n"]))
        content = content[: leaf.start(2)] + before + leaf.group(2) + after + content[leaf.end(2) :]
    rows = read_or_quarantine(work_file, content)
    assert rows is not None and _comparable(rows) == _comparable(expected)
