"""The VRSB0801 schema in use: per-dossier validation and the field bounds, both from one XSD.

The XSD is the CNAF's own when the operator provides it (``AIGUILLAGE_PARTNER_SCHEMAS_DIR``, see
:mod:`aiguillage.partner_schemas`), else the project's, which checks the same rules. From it come:

- the validator of one ``InfosFoyerRSA`` block, run while the file streams (the XSD declares the
  block globally, so a dossier is validated on its own, before it is freed);
- :attr:`CafSchema.max_lengths`, the longest value each field may hold (``maxLength`` of a text,
  ``totalDigits`` of an integer), which the reader uses to bound what it stores: one rule, one place.

Schema errors are reported as ``<element path>: <rule> (line N)``, rebuilt from the kind of error
libxml2 reports, never from its message text: that text quotes the offending value, and values are
personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree

from aiguillage.partner_schemas import CAF_VRSB0801, PARTNER_SCHEMAS_VAR, schema_in_use

__all__ = ["CafSchema", "SchemaSetupError", "caf_schema"]

DOSSIER = "InfosFoyerRSA"
_XS = "{http://www.w3.org/2001/XMLSchema}"
_INTEGER_BASES = frozenset(
    {"integer", "nonNegativeInteger", "positiveInteger", "nonPositiveInteger", "negativeInteger", "long", "int",
     "short", "byte", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte"}
)

# At most this many errors are kept per dossier; the rest are counted.
MAX_ERRORS_PER_DOSSIER = 20

# What libxml2's message says after the value (its end is always schema text, never the value).
_FACET_LIMIT = re.compile(r"(?:length of |allowed \()'(-?[\d.]{1,20})'\)?\.$")
_ATOMIC_TYPE = re.compile(r"type '([A-Za-z_][\w.:-]{0,40})'\.$")
_EXPECTED = re.compile(r"Expected is (?:one of )?\( ([\w.:, -]{1,300}) \)\.$")
_PATH_STEP = re.compile(r"^[A-Za-z_][\w.-]{0,63}(?:\[\d{1,7}\])?$")

# libxml2 error kind -> the rule broken, in words.
_FACETS = {
    "SCHEMAV_CVC_MAXLENGTH_VALID": "maxLength",
    "SCHEMAV_CVC_MINLENGTH_VALID": "minLength",
    "SCHEMAV_CVC_LENGTH_VALID": "length",
    "SCHEMAV_CVC_TOTALDIGITS_VALID": "totalDigits",
    "SCHEMAV_CVC_FRACTIONDIGITS_VALID": "fractionDigits",
    "SCHEMAV_CVC_MININCLUSIVE_VALID": "minInclusive",
    "SCHEMAV_CVC_MAXINCLUSIVE_VALID": "maxInclusive",
    "SCHEMAV_CVC_MINEXCLUSIVE_VALID": "minExclusive",
    "SCHEMAV_CVC_MAXEXCLUSIVE_VALID": "maxExclusive",
    "SCHEMAV_CVC_PATTERN_VALID": "pattern",
    "SCHEMAV_CVC_ENUMERATION_VALID": "enumeration",
}
_STRUCTURE = {
    "SCHEMAV_CVC_COMPLEX_TYPE_2_1": "structure: no content allowed",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_3": "structure: text where only elements are allowed",
    "SCHEMAV_CVC_TYPE_3_1_2": "structure: child elements in a simple value",
    "SCHEMAV_CVC_TYPE_3_1_1": "structure: attributes on a simple value",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_1": "structure: attribute not allowed",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2": "structure: attribute not allowed",
    "SCHEMAV_CVC_COMPLEX_TYPE_4": "structure: required attribute missing",
    "SCHEMAV_CVC_ELT_1": "structure: no schema declaration for this element",
}


class SchemaSetupError(RuntimeError):
    """The XSD in use cannot check VRSB0801 dossiers (a deployment problem, not a file's)."""


@dataclass(frozen=True)
class CafSchema:
    path: Path
    validator: etree.XMLSchema
    max_lengths: dict[str, int]  # field (tag) -> most characters a value may have
    # Integer fields: a valid value may still be longer than totalDigits (leading zeros), so the
    # reader bounds them even in a dossier that validates.
    integer_fields: frozenset[str]

    def dossier_errors(self, dossier: Any) -> list[str]:
        """The schema errors of one InfosFoyerRSA element, as ``path: rule (line N)``; [] when valid."""
        validator = self.validator
        if validator.validate(dossier):
            return []
        errors: list[str] = []
        entries = [entry for entry in validator.error_log if entry.level >= etree.ErrorLevels.ERROR]
        for entry in entries[:MAX_ERRORS_PER_DOSSIER]:
            path, line = _where(entry, dossier)
            errors.append(f"{path}: {self._rule(entry, path)} (line {line})")
        if len(entries) > MAX_ERRORS_PER_DOSSIER:
            errors.append(f"{len(entries) - MAX_ERRORS_PER_DOSSIER} more schema errors in this dossier")
        return errors or [f"{DOSSIER}: does not validate (line {dossier.sourceline or 0})"]

    def _rule(self, entry: Any, path: str) -> str:
        kind = entry.type_name or ""
        message = (entry.message or "").rstrip()
        facet = _FACETS.get(kind)
        if facet is not None:
            if facet in ("pattern", "enumeration"):
                return f"facet {facet}"
            # The field's bound as the schema declares it; else the end of libxml2's message, which
            # comes after the value (and is cut when the value is very long: then no limit is shown).
            limit = self.max_lengths.get(path.rsplit("/", 1)[-1].split("[")[0])
            if limit is None or facet not in ("maxLength", "length", "totalDigits"):
                found = _FACET_LIMIT.search(message)
                limit = found.group(1) if found else None
            return f"facet {facet}" + (f" {limit}" if limit is not None else "")
        if kind.startswith("SCHEMAV_CVC_DATATYPE_VALID") or kind == "SCHEMAV_CVC_SIMPLE_TYPE_1":
            declared = _ATOMIC_TYPE.search(message)
            return "type " + (declared.group(1) if declared else "of the value")
        if kind in ("SCHEMAV_ELEMENT_CONTENT", "SCHEMAV_CVC_COMPLEX_TYPE_2_4"):
            expected = _EXPECTED.search(message)
            wanted = f" (expected: {expected.group(1)})" if expected else ""
            if "Missing child element" in message:
                return "cardinality: a mandatory element is missing" + wanted
            return "cardinality or order: element not expected here" + wanted
        return _STRUCTURE.get(kind, f"schema rule {kind or 'unknown'}")


def _where(entry: Any, dossier: Any) -> tuple[str, int]:
    """The error's element path from the dossier (``InfosFoyerRSA/Personne[2]/Identification/NOM``)
    and its line in the file."""
    steps = [step for step in (entry.path or "").split("/") if step]
    if not steps or not all(_PATH_STEP.match(step) for step in steps) or steps[0] != DOSSIER:
        return DOSSIER, dossier.sourceline or 0
    line = 0
    if len(steps) > 1:
        found = dossier.xpath("/".join(steps[1:]))
        if found and hasattr(found[0], "sourceline"):
            line = found[0].sourceline or 0
    else:
        line = dossier.sourceline or 0
    return "/".join(steps), line or entry.line or 0


# ----------------------------------------------------------------------------------------------
# Loading the XSD in use


def caf_schema() -> CafSchema:
    """The VRSB0801 schema in use now (loaded once per file and version)."""
    path = schema_in_use(CAF_VRSB0801)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as error:
        raise SchemaSetupError(f"VRSB0801 schema {path} cannot be read ({error.strerror})") from None
    return _load(str(path), stamp)


@lru_cache(maxsize=4)
def _load(path: str, _stamp: int) -> CafSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        document = etree.parse(path, parser)
        validator = etree.XMLSchema(document)
    except (etree.XMLSyntaxError, etree.XMLSchemaParseError, OSError) as error:
        raise SchemaSetupError(
            f"VRSB0801 schema {path} is not a usable XSD ({type(error).__name__}); check {PARTNER_SCHEMAS_VAR}"
        ) from None
    root = document.getroot()
    if root.find(f"{_XS}element[@name='{DOSSIER}']") is None:
        raise SchemaSetupError(
            f"VRSB0801 schema {path} does not declare {DOSSIER} globally: dossiers cannot be validated one "
            f"by one; check {PARTNER_SCHEMAS_VAR}"
        )
    bounds, integers = _max_lengths(root)
    return CafSchema(Path(path), validator, bounds, integers)


def _max_lengths(root: Any) -> tuple[dict[str, int], frozenset[str]]:
    """Field -> longest value allowed: maxLength (or length) of texts, totalDigits of integers; and
    the integer fields.

    A field declared in several places keeps its largest bound (the schema still checks each place).
    """
    named = {simple.get("name"): simple for simple in root.iter(f"{_XS}simpleType") if simple.get("name")}
    bounds: dict[str, int] = {}
    integers: set[str] = set()
    for element in root.iter(f"{_XS}element"):
        name = element.get("name")
        if not name:
            continue
        simple = element.find(f"{_XS}simpleType")
        if simple is None and element.get("type"):
            simple = named.get(element.get("type").split(":")[-1])
        if simple is None:
            continue
        found = _bound(simple, named, depth=0)
        if found is not None:
            bound, integer = found
            bounds[name] = max(bound, bounds.get(name, 0))
            if integer:
                integers.add(name)
    return bounds, frozenset(integers)


def _bound(simple: Any, named: dict[str, Any], depth: int) -> tuple[int, bool] | None:
    """(bound, whether it is an integer's totalDigits) of a simple type, following named bases."""
    restriction = simple.find(f"{_XS}restriction")
    if restriction is None or depth > 10:
        return None
    facets = {etree.QName(facet).localname: facet.get("value") for facet in restriction if isinstance(facet.tag, str)}
    base = (restriction.get("base") or "").split(":")[-1]
    for facet in ("maxLength", "length"):
        if facets.get(facet, "").isdigit():
            return int(facets[facet]), False
    if base in _INTEGER_BASES and facets.get("totalDigits", "").isdigit():
        return int(facets["totalDigits"]), True
    if base in named:
        return _bound(named[base], named, depth + 1)
    return None
