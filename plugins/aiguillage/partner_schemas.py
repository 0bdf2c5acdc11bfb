"""Which XML schema checks a partner's flow: the partner's own, when the operator provides it, else ours.

The partners publish their interface schemas (the CNAF's VRSB0801 XSD, WebRSA's exchange XSDs).
They are not shipped with Aiguillage; an operator who has them sets ``AIGUILLAGE_PARTNER_SCHEMAS_DIR``
to the folder that holds them, under the partners' file names (``cnaf-vrsb0801.xsd``, ...), and
the readers then validate against them. Without it, the project's own schemas under
``aiguillage/schemas/`` serve: they check the same rules (a test compares them on a corpus).

Standard library only, no I/O at import: DAG files may import it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PARTNER_SCHEMAS_VAR", "CAF_VRSB0801", "WEBRSA_ALI", "partner_schema", "partner_schemas_dir", "schema_in_use"]

PARTNER_SCHEMAS_VAR = "AIGUILLAGE_PARTNER_SCHEMAS_DIR"

# Partner file name -> the project's own schema for the same interface.
CAF_VRSB0801 = "cnaf-vrsb0801.xsd"
# WebRSA's exchange: the agencies' reports (ALI -> Département).
ALI_WEBRSA = "webrsa-ALI-WebRSA.xsd"
_OWN_SCHEMAS = {CAF_VRSB0801: "vrsb0801.xsd"}
_OWN_SCHEMAS[ALI_WEBRSA] = "ali_webrsa.xsd"
# WebRSA's exchange: the Département's file to each agency (Département -> ALI).
WEBRSA_ALI = "webrsa-WebRSA-ALI.xsd"
_OWN_SCHEMAS[WEBRSA_ALI] = "webrsa_ali.xsd"

_PACKAGE_SCHEMAS = Path(__file__).resolve().parent / "schemas"


def partner_schemas_dir() -> Path | None:
    """The folder named by AIGUILLAGE_PARTNER_SCHEMAS_DIR, or None when it is not set."""
    configured = os.environ.get(PARTNER_SCHEMAS_VAR)
    return Path(configured).expanduser().resolve() if configured else None


def partner_schema(name: str) -> Path | None:
    """The partner's schema file ``name`` in the configured folder, or None (not set, or not there)."""
    folder = partner_schemas_dir()
    if folder is None:
        return None
    path = folder / name
    return path if path.is_file() else None


def schema_in_use(name: str) -> Path:
    """The schema that checks the interface ``name``: the partner's file if provided, else ours."""
    return partner_schema(name) or _PACKAGE_SCHEMAS / _OWN_SCHEMAS[name]
