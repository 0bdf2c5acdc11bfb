"""One agency's day in the WebRSA ALI exchange: a ``WebRSA-ALI`` document, stock or diff.

The Département's agencies already exchange with WebRSA in XML (WebRSA-ALI.xsd, one file per
structure). This module writes the same document from the day's extract lines
(``columns.LINES_TABLE``): the ``stock`` lines give a stock file (``fichier_stock`` 1), the
``mouvements`` lines a diff file (``fichier_stock`` 0). Contract: docs/data-contracts.md, "Échange
WebRSA ALI".

- WebRSA wants integers where ours are text: a person (``person_id``) and an orientation
  (``id_orientation``) get a stable number in ``identifiants.webrsa_identifiant`` (migration 021),
  assigned set-based for the whole day's lines (every agency) by the first file of the day, so that
  the numbers do not depend on the order in which the agencies' files are written. Two agencies'
  files written at once: the second waits for the first's numbers (same rows), then uses them; the
  numbers it drew in vain leave a gap, harmless. Codes and structures go through the
  référentiel's identifiants of the seed ``webrsa_correspondances``, the one place they are mapped.
- No NIR, ever: the schema allows a ``nir``; it is never written.
- Streamed: a server-side cursor, one ``dossier`` element built and written at a time, then the file
  validated by an incremental parse against the schema in use (the partner's, else ours), in
  constant memory. An invalid document raises :class:`WebrsaAliInvalid` naming the element and the
  rule (never the value), and nothing is placed at the final path.
- The same lines give the same bytes: ``date_generation`` is the day at midnight, not the clock.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
from lxml import etree
from psycopg import sql
from psycopg.rows import dict_row

from aiguillage import partner_schemas
from aiguillage.extracts import columns, files
from aiguillage.extracts.safety import UnsafeExtract
from aiguillage.extracts.writer import check_day

__all__ = ["WebrsaAliInvalid", "Correspondances", "load_correspondances", "render", "write_file",
           "assign_numbers", "validate", "schema_path"]

CORRESPONDANCES_TABLE = "referentiel.webrsa_correspondances"
IDENTIFIERS_TABLE = "identifiants.webrsa_identifiant"
# The code a référentiel list may hold for "we do not know" (sitfam): used for an empty value.
NOT_KNOWN = "NON_RENSEIGNE"
# WebRSA's own export writes 0 when it does not know the number of children; so do we.
UNKNOWN_CHILDREN = 0

_CURSOR_ROWS = 2000


class WebrsaAliInvalid(UnsafeExtract):
    """The document cannot be written or does not satisfy the schema; nothing was placed. An
    UnsafeExtract: the agency's day is withheld with this reason, like any file that must not go."""


@dataclass(frozen=True)
class Correspondances:
    """Our codes -> the identifiants of the Département's WebRSA référentiel, per list."""

    lists: Mapping[str, Mapping[str, int]]

    def identifiant(self, referentiel: str, code: object, element: str, *, required: bool = True) -> int | None:
        """The référentiel identifiant of ``code``. An empty code takes the list's NON_RENSEIGNE row,
        else None when the element is optional; a code the list does not hold is an error."""
        values = self.lists.get(referentiel, {})
        text = "" if code is None else str(code).strip()
        if text:
            if text not in values:
                raise WebrsaAliInvalid(
                    f"element {element}: code {text!r} has no identifiant in the référentiel list "
                    f"{referentiel!r} ({CORRESPONDANCES_TABLE}): add it to the seed webrsa_correspondances")
            return values[text]
        if NOT_KNOWN in values:
            return values[NOT_KNOWN]
        if required:
            raise WebrsaAliInvalid(
                f"element {element}: required, but the line has no value and the référentiel list "
                f"{referentiel!r} has no {NOT_KNOWN} row ({CORRESPONDANCES_TABLE})")
        return None


def load_correspondances(conn: psycopg.Connection) -> Correspondances:
    lists: dict[str, dict[str, int]] = {}
    for referentiel, code, identifiant in conn.execute(
            f"SELECT referentiel, code, identifiant FROM {CORRESPONDANCES_TABLE}"):  # noqa: S608 - constant
        lists.setdefault(referentiel, {})[code] = int(identifiant)
    return Correspondances(lists)


# ----- rendering: a pure function over row dicts -----


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = value.isoformat() if isinstance(value, date) else str(value)
    return text if text.strip() else None


def _child(parent: etree._Element, tag: str, value: object) -> None:
    """Append ``<tag>value</tag>`` when there is a value; lxml escapes it (``<``, ``&``): it is text."""
    text = _text(value)
    if text is None:
        return
    try:
        etree.SubElement(parent, tag).text = text
    except ValueError as error:  # a NUL or control character: not representable in XML 1.0
        raise WebrsaAliInvalid(f"element {tag}: the value holds a character XML 1.0 does not allow") from error


def _flag(value: object) -> str | None:
    if value is None:
        return None
    return "1" if value in (True, 1, "1", "true", "t") else "0"


def _allocataire(row: Mapping, codes: Correspondances) -> etree._Element:
    block = etree.Element("allocataire")
    _child(block, "civilite", codes.identifiant("civilite", row.get("civilite"), "civilite", required=False))
    _child(block, "nom", row.get("nom"))
    _child(block, "prenom", row.get("prenom"))
    # never a <nir>: the exchange allows one, the house rule does not
    _child(block, "numero_caf", row.get("numero_caf"))
    _child(block, "date_naissance", row.get("date_naissance"))
    # The extract carries the street as one text (and none after a move): it goes whole in nom_voie.
    _child(block, "nom_voie", row.get("adresse"))
    _child(block, "code_postal", row.get("code_postal"))
    _child(block, "ville", row.get("commune"))
    _child(block, "date_demande_rsa", row.get("date_demande_rsa"))
    _child(block, "numero_demande_rsa", row.get("numero_demande_rsa"))
    _child(block, "etat_droit", codes.identifiant("etatdos", row.get("etat_droit"), "etat_droit"))
    _child(block, "soumis_droits_devoirs", _flag(row.get("soumis_droits_devoirs")))
    _child(block, "role_personne", codes.identifiant("rolepers", row.get("role"), "role_personne"))
    children = row.get("nombre_enfants")
    _child(block, "nb_enfants_foyer", UNKNOWN_CHILDREN if children is None else children)
    _child(block, "situation_familiale",
           codes.identifiant("sitfam", row.get("situation_familiale"), "situation_familiale"))
    return block


def _modes_contact(row: Mapping) -> etree._Element | None:
    if _text(row.get("telephone")) is None and _text(row.get("email")) is None:
        return None
    block = etree.Element("modes_contact")
    _child(block, "telephone_1", row.get("telephone"))
    _child(block, "email", row.get("email"))
    return block


def _orientation(row: Mapping, codes: Correspondances) -> etree._Element:
    block = etree.Element("orientation")
    _child(block, "id_orient_webrsa", row.get("id_orient_webrsa"))
    _child(block, "date_orient", row.get("date_orientation"))
    _child(block, "origine_orient", codes.identifiant("orient_origine", row.get("origine"), "origine_orient"))
    _child(block, "statut_orient",
           codes.identifiant("orient_statut", row.get("statut_orientation"), "statut_orient"))
    _child(block, "type_orient", codes.identifiant("typesorients", row.get("parcours"), "type_orient"))
    _child(block, "structure_referente",
           codes.identifiant("structuresreferentes", row.get("code_structure"), "structure_referente"))
    _child(block, "tag_entretien_diag", "0")
    return block


def _dossier(lines: list[Mapping], codes: Correspondances) -> etree._Element:
    """One person's ``dossier``: who they are (from their first line), then each of their orientations."""
    first = lines[0]
    dossier = etree.Element("dossier")
    _child(dossier, "id_personne", first.get("id_personne"))
    dossier.append(_allocataire(first, codes))
    contact = _modes_contact(first)
    if contact is not None:
        dossier.append(contact)
    orientations = etree.SubElement(dossier, "orientations")
    for line in lines:
        orientations.append(_orientation(line, codes))
    return dossier


def _people(rows: Iterable[Mapping]) -> Iterator[list[Mapping]]:
    """Consecutive rows of the same ``id_personne`` (the rows come sorted by it)."""
    current: list[Mapping] = []
    for row in rows:
        if current and row.get("id_personne") != current[0].get("id_personne"):
            yield current
            current = []
        current.append(row)
    if current:
        yield current


def render(handle, *, day: date, id_structure_ali: int, libelle_ali: str, stock: bool,
           rows: Iterable[Mapping], codes: Correspondances) -> dict[str, int]:
    """Write the ``WebRSA-ALI`` document of ``rows`` (sorted by id_personne, then id_orient_webrsa)
    to the binary ``handle``, one dossier in memory at a time. Returns the lines per type_mouvement."""
    by_type: dict[str, int] = {}
    people = _people(rows)
    first = next(people, None)
    entete = etree.Element("entete")
    _child(entete, "date_generation", f"{day.isoformat()} 00:00:00")
    _child(entete, "id_structure_ali", id_structure_ali)
    _child(entete, "libelle_ali", libelle_ali)
    _child(entete, "fichier_stock", "1" if stock else "0")
    with etree.xmlfile(handle, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element("WebRSA-ALI"):
            xf.write("\n")
            xf.write(entete, pretty_print=True)
            if first is not None:
                with xf.element("dossiers"):
                    xf.write("\n")
                    for lines in itertools.chain([first], people):
                        xf.write(_dossier(lines, codes), pretty_print=True)
                        for line in lines:
                            kind = line.get("type_mouvement") or ""
                            by_type[kind] = by_type.get(kind, 0) + 1
                xf.write("\n")
    handle.write(b"\n")
    return by_type


# ----- validation: incremental, against the schema in use -----

# lxml quotes the offending value in its messages ("Element 'x': 'VALUE' is not a valid value ...",
# "[facet 'pattern'] The value 'VALUE' is not accepted ..."): a value may be personal data, so it is
# cut out of the error; the element and the rule stay.
_QUOTED_VALUE = re.compile(r"(Element '[^']+': |[Tt]he value )'.*?' (?=is not)", re.DOTALL)


def schema_path() -> Path:
    return partner_schemas.schema_in_use(partner_schemas.WEBRSA_ALI)


def validate(path: Path, schema: Path | None = None) -> None:
    """Parse ``path`` against the schema (the one in use by default), dropping each dossier once
    checked; raise :class:`WebrsaAliInvalid` naming the element, the rule and where it is."""
    schema = schema or schema_path()
    checker = etree.XMLSchema(etree.parse(str(schema)))
    try:
        for _, element in etree.iterparse(str(path), events=("end",), tag="dossier", schema=checker,
                                          resolve_entities=False, no_network=True):
            _drop(element)
    except etree.XMLSyntaxError as error:
        where, message = _locate(path, checker) or ("", str(error.msg or error))
        raise WebrsaAliInvalid(f"{path.name} does not satisfy {schema.name}{where}: {_redacted(message)}") from None


def _drop(element: etree._Element) -> None:
    element.clear()
    while element.getprevious() is not None:
        del element.getparent()[0]


def _redacted(message: str) -> str:
    return _QUOTED_VALUE.sub(lambda found: found[1] if "value" in found[1] else f"{found[1]}the value ", message)


def _locate(path: Path, checker: etree.XMLSchema) -> tuple[str, str] | None:
    """Where the first error is: streaming validation cannot say, so each dossier is checked again on
    its own, under the file's header (one dossier in memory at a time)."""
    header = None
    try:
        for _, element in etree.iterparse(str(path), events=("end",), tag=("entete", "dossier"),
                                          resolve_entities=False, no_network=True):
            if element.tag == "entete":
                header = etree.fromstring(etree.tostring(element))
                continue
            if header is not None:
                alone = etree.Element("WebRSA-ALI")
                alone.append(etree.fromstring(etree.tostring(header)))
                etree.SubElement(alone, "dossiers").append(etree.fromstring(etree.tostring(element)))
                if not checker.validate(alone):
                    return (f" (line {element.sourceline}, dossier of id_personne "
                            f"{element.findtext('id_personne')})", checker.error_log.last_error.message)
            _drop(element)
    except etree.XMLSyntaxError:
        return None
    return None


# ----- the database side -----


def _lines_table() -> sql.Composable:
    schema, table = columns.LINES_TABLE.split(".")
    return sql.Identifier(schema, table)


def assign_numbers(conn: psycopg.Connection, day: date) -> None:
    """Give every person and orientation of the day's lines (all agencies) its number, once; the new
    ones are numbered in (kind, identifiant) order. Rerunning the day adds nothing."""
    missing = conn.execute(sql.SQL(
        "SELECT count(*) FROM {lines} AS l LEFT JOIN marts.referrals AS r ON r.id_orientation = l.id_orientation"
        " WHERE r.id_orientation IS NULL").format(lines=_lines_table())).fetchone()[0]
    if missing:
        raise WebrsaAliInvalid(f"{missing} line(s) of {columns.LINES_TABLE} name an id_orientation that "
                               "marts.referrals does not hold: build the referral warehouse again")
    conn.execute(sql.SQL(
        "INSERT INTO {ids} (kind, identifiant, premier_jour)"
        " SELECT kind, identifiant, %(day)s FROM ("
        "   SELECT 'personne' AS kind, r.person_id AS identifiant FROM {lines} AS l"
        "   JOIN marts.referrals AS r ON r.id_orientation = l.id_orientation"
        "   UNION SELECT 'orientation', l.id_orientation FROM {lines} AS l"
        " ) AS day_ids"
        " WHERE NOT EXISTS (SELECT FROM {ids} AS known WHERE known.kind = day_ids.kind"
        "                   AND known.identifiant = day_ids.identifiant)"
        " ORDER BY kind COLLATE \"C\", identifiant COLLATE \"C\""
        " ON CONFLICT (kind, identifiant) DO NOTHING"
    ).format(ids=sql.Identifier(*IDENTIFIERS_TABLE.split(".")), lines=_lines_table()), {"day": day})


def _rows_query(conn: psycopg.Connection, code_structure: str, fichier: str) -> sql.Composed:
    # The lines table grows columns over time (counsellor's columns): read the ones it has.
    present = {name for (name,) in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
        tuple(columns.LINES_TABLE.split(".")))}
    optional = [sql.SQL("l.{0} AS {0}").format(sql.Identifier(name)) if name in present
                else sql.SQL("NULL AS {}").format(sql.Identifier(name))
                for name in ("situation_familiale", "nombre_enfants", "telephone", "email")]
    return sql.SQL(
        "SELECT p.numero AS id_personne, o.numero AS id_orient_webrsa, l.type_mouvement, l.date_orientation,"
        " l.parcours, l.code_structure, l.civilite, l.nom, l.prenom, l.date_naissance, l.numero_caf, l.role,"
        " l.adresse, l.code_postal, l.commune, l.etat_droit, l.statut_orientation, l.origine, {optional},"
        " s.date_demande_rsa, s.soumis_droits_devoirs, d.numero_demande_rsa"
        " FROM {lines} AS l"
        " JOIN marts.referrals AS r ON r.id_orientation = l.id_orientation"
        " JOIN {ids} AS p ON p.kind = 'personne' AND p.identifiant = r.person_id"
        " JOIN {ids} AS o ON o.kind = 'orientation' AND o.identifiant = l.id_orientation"
        " LEFT JOIN intermediate.int_persons__situations AS s ON s.person_id = r.person_id"
        " LEFT JOIN staging.stg_caf__dossier_states AS d ON d.dossier_key = s.dossier_key"
        " WHERE l.fichier = {fichier} AND l.code_structure = {code}"
        " ORDER BY p.numero, o.numero"
    ).format(optional=sql.SQL(", ").join(optional), lines=_lines_table(),
             ids=sql.Identifier(*IDENTIFIERS_TABLE.split(".")), fichier=sql.Literal(fichier),
             code=sql.Literal(code_structure))


def _structure(conn: psycopg.Connection, codes: Correspondances, code_structure: str) -> tuple[int, str]:
    found = conn.execute("SELECT libelle FROM referentiel.destinations WHERE code_structure = %s",
                         (code_structure,)).fetchone()
    if found is None:
        raise WebrsaAliInvalid(f"element libelle_ali: {code_structure} is not a destination (seed destinations)")
    return codes.identifiant("structuresreferentes", code_structure, "id_structure_ali"), found[0]


def write_file(conn: psycopg.Connection, day: date, code_structure: str, fichier: str, final_path: Path) -> dict:
    """Write agency ``code_structure``'s ``fichier`` ('stock' or 'mouvements') of ``day`` as a
    ``WebRSA-ALI`` document at ``final_path``, validated before it is placed.
    Returns {"rows", "rows_by_type", "sha256"}; raises :class:`WebrsaAliInvalid` (nothing placed)."""
    files.check_code(code_structure)
    files.check_fichier(fichier)
    final_path = Path(final_path)
    final_path.parent.mkdir(parents=True, exist_ok=True)
    expected = (columns.STOCK_TYPE,) if fichier == columns.STOCK else columns.MOVEMENT_TYPES
    with conn.transaction():
        conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        check_day(conn, day, code_structure, fichier)
        assign_numbers(conn, day)
        codes = load_correspondances(conn)
        id_structure, libelle = _structure(conn, codes, code_structure)
        query = _rows_query(conn, code_structure, fichier)
        with files.atomic_writer(final_path) as (handle, tmp):
            with conn.cursor(name=f"webrsa_{code_structure.lower()}_{fichier}",
                             row_factory=dict_row) as cursor:
                cursor.itersize = _CURSOR_ROWS
                cursor.execute(query)
                counted = render(handle, day=day, id_structure_ali=id_structure, libelle_ali=libelle,
                                 stock=fichier == columns.STOCK, rows=cursor, codes=codes)
            handle.flush()
            validate(tmp)
            digest = files.sha256_of(tmp)
    by_type = dict.fromkeys(expected, 0)
    by_type.update(counted)
    return {"rows": sum(by_type.values()), "rows_by_type": by_type, "sha256": digest}
