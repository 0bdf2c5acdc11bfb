"""Properties of the CAF reader on damaged flows.

Whatever happens to the bytes of a valid VRSB0801 file, reading it either completes with rows that
would COPY (right width, right types, NOT NULL and keys respected) or raises QuarantineError:
never another exception. Damage confined to a dossier's content never sinks the file, and a file
cut anywhere before its end is always quarantined.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from aiguillage.ingest.caf_reader import read_caf  # noqa: E402
from aiguillage.ingest.raw_tables import QuarantineError, RawRow  # noqa: E402
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


@pytest.fixture(scope="module")
def flows(tmp_path_factory) -> list[bytes]:
    """A small monthly flow and a daily one; the generator writes one in ISO-8859-1, one in UTF-8."""
    summary = generate(tmp_path_factory.mktemp("flows"), START, 8, 2, seed=4)
    contents = [path.read_bytes() for path in summary.files if path.parent.name == "caf"]
    assert {re.search(rb'encoding="([^"]+)"', c).group(1) for c in contents} == {b"ISO-8859-1", b"UTF-8"}
    return contents


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


# Text a partner could put in a leaf, as it would be written (escaped, encodable in Latin-1 too).
leaf_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF) | st.just("\t"), max_size=20)


def escaped(text: str, encoding: bytes) -> bytes:
    escaped_text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped_text.encode("utf-8" if encoding == b"UTF-8" else "iso-8859-1")


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
