"""How each agency receives its extract: the delivery configuration.

Every agency that receives extracts on a day (``referentiel.destinations``: ``recoit_extrait``,
active that day) gets its files in the outbox, ``<outbox>/<code_structure>/<YYYY-MM-DD>/``, unless
the file named by ``AIGUILLAGE_DELIVERY_CONFIG`` (TOML or JSON) says otherwise::

    [default]
    method = "outbox"

    [destinations.ALI05]
    method = "sftp"
    conn_id = "sftp_ali05"      # an Airflow connection: host, login, password or key live there
    remote_dir = "/depot"       # files go to <remote_dir>/<YYYY-MM-DD>/
    formats = ["csv", "webrsa"] # what it receives (aiguillage.extracts.formats); ["csv"] when not said

Credentials never appear in this file: it names an Airflow connection (``AIRFLOW_CONN_<ID>`` or a
secrets backend). ``remote_dir`` may contain ``{code_structure}`` (useful in ``[default]``). An
agency's own section replaces ``[default]`` as a whole for that agency (no key is inherited).
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

from aiguillage import config
from aiguillage.extracts import formats as extract_formats

log = logging.getLogger(__name__)

CONFIG_VAR = "AIGUILLAGE_DELIVERY_CONFIG"
OUTBOX = "outbox"
SFTP = "sftp"
METHODS = (OUTBOX, SFTP)

_KEYS = {"method", "conn_id", "remote_dir", "formats"}
_SECRET_WORDS = ("password", "passwd", "secret", "private_key", "key_file", "token", "passphrase")
_CONN_ID = re.compile(r"^[A-Za-z0-9_.-]+\Z")


class DeliveryConfigError(ValueError):
    """The delivery configuration file is wrong; the message names the file and the key."""


@dataclass(frozen=True)
class Destination:
    code_structure: str
    method: str = OUTBOX
    conn_id: str | None = None
    remote_dir: str | None = None
    formats: tuple[str, ...] = extract_formats.DEFAULT_FORMATS

    def as_dict(self) -> dict:
        """Plain form, for XCom; ``Destination.from_dict`` reads it back."""
        return {"code_structure": self.code_structure, "method": self.method, "conn_id": self.conn_id,
                "remote_dir": self.remote_dir, "formats": list(self.formats)}

    @classmethod
    def from_dict(cls, data: dict) -> Destination:
        return cls(data["code_structure"], data.get("method", OUTBOX), data.get("conn_id"), data.get("remote_dir"),
                   tuple(data.get("formats") or extract_formats.DEFAULT_FORMATS))

    def describe(self) -> str:
        """Where the files go, without any credential (for logs and reports)."""
        if self.method == SFTP:
            return f"sftp://{self.conn_id}{self.remote_dir}"
        return "outbox"


@dataclass(frozen=True)
class ReferentialRow:
    code_structure: str
    actif_du: date | None
    actif_au: date | None
    recoit_extrait: bool

    def receives_on(self, day: date) -> bool:
        return (self.recoit_extrait and (self.actif_du is None or self.actif_du <= day)
                and (self.actif_au is None or day <= self.actif_au))


def config_path() -> Path | None:
    configured = os.environ.get(CONFIG_VAR)
    return Path(configured).expanduser() if configured else None


def referential_from_warehouse(conn) -> list[ReferentialRow]:
    """The agencies of ``referentiel.destinations`` (the dbt seed as loaded in the warehouse)."""
    with conn.transaction():
        rows = conn.execute(
            "SELECT code_structure, actif_du, actif_au, coalesce(recoit_extrait, false)"
            " FROM referentiel.destinations ORDER BY code_structure"
        ).fetchall()
    return [ReferentialRow(code, low, high, bool(receives)) for code, low, high, receives in rows]


def referential_from_seed(path: Path | None = None) -> list[ReferentialRow]:
    """The same rows read from the seed file of the checkout (no warehouse needed)."""
    path = path or config.dbt_project_dir() / "seeds" / "destinations.csv"

    def day_or_none(text: str) -> date | None:
        return date.fromisoformat(text) if text.strip() else None

    with open(path, encoding="utf-8", newline="") as handle:
        return [ReferentialRow(row["code_structure"], day_or_none(row["actif_du"]), day_or_none(row["actif_au"]),
                               row["recoit_extrait"].strip().lower() == "true")
                for row in csv.DictReader(handle)]


def _read_file(path: Path) -> dict:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DeliveryConfigError(f"delivery configuration {path} ({CONFIG_VAR}) cannot be read: "
                                  f"{error.strerror or error}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw.decode("utf-8"))
        else:
            data = tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise DeliveryConfigError(f"delivery configuration {path} is not valid {kind}: {error}") from None
    if not isinstance(data, dict):
        raise DeliveryConfigError(f"delivery configuration {path}: the top level must be a table/object")
    return data


def _section(path: Path, where: str, section: object) -> dict:
    if not isinstance(section, dict):
        raise DeliveryConfigError(f"delivery configuration {path}: [{where}] must be a table/object")
    for key in section:
        if any(word in key.lower() for word in _SECRET_WORDS):
            raise DeliveryConfigError(
                f"delivery configuration {path}: [{where}] {key} looks like a credential; credentials belong "
                f"in the Airflow connection named by conn_id, never in this file")
        if key not in _KEYS:
            raise DeliveryConfigError(f"delivery configuration {path}: unknown key {where}.{key} "
                                      f"(expected {', '.join(sorted(_KEYS))})")
    return section


def _formats(path: Path, where: str, settings: dict) -> tuple[str, ...]:
    wanted = settings.get("formats", list(extract_formats.DEFAULT_FORMATS))
    known = ", ".join(f'"{name}"' for name in extract_formats.FORMATS)
    if not isinstance(wanted, list) or not wanted or not all(isinstance(name, str) for name in wanted):
        raise DeliveryConfigError(f"delivery configuration {path}: {where}.formats must be a non-empty list "
                                  f"of formats among {known}, got {wanted!r}")
    for name in wanted:
        if name not in extract_formats.FORMATS:
            raise DeliveryConfigError(f"delivery configuration {path}: {where}.formats names an unknown format "
                                      f"{name!r} (expected among {known})")
    if len(set(wanted)) != len(wanted):
        raise DeliveryConfigError(f"delivery configuration {path}: {where}.formats names a format twice")
    return tuple(wanted)


def _destination(path: Path, where: str, code: str, settings: dict) -> Destination:
    kinds = _formats(path, where, settings)
    method = settings.get("method", OUTBOX)
    if method not in METHODS:
        raise DeliveryConfigError(f"delivery configuration {path}: {where}.method is {method!r}; "
                                  f"expected one of {', '.join(METHODS)}")
    if method == OUTBOX:
        extra = sorted(set(settings) - {"method", "formats"})
        if extra:
            raise DeliveryConfigError(f"delivery configuration {path}: {where}.{extra[0]} only applies to "
                                      f"method = \"sftp\"")
        return Destination(code, formats=kinds)
    conn_id, remote_dir = settings.get("conn_id"), settings.get("remote_dir")
    if not isinstance(conn_id, str) or not _CONN_ID.match(conn_id):
        raise DeliveryConfigError(f"delivery configuration {path}: {where}.conn_id must name an Airflow "
                                  f"connection (letters, digits, _ . -), got {conn_id!r}")
    if not isinstance(remote_dir, str) or not remote_dir.startswith("/"):
        raise DeliveryConfigError(f"delivery configuration {path}: {where}.remote_dir must be an absolute "
                                  f"remote folder such as \"/depot\", got {remote_dir!r}")
    try:
        remote = remote_dir.format(code_structure=code)
    except (KeyError, IndexError, ValueError):
        raise DeliveryConfigError(f"delivery configuration {path}: {where}.remote_dir may only use the "
                                  f"placeholder {{code_structure}}") from None
    if ".." in PurePosixPath(remote).parts:
        raise DeliveryConfigError(f"delivery configuration {path}: {where}.remote_dir must not contain '..'")
    return Destination(code, SFTP, conn_id, str(PurePosixPath(remote)), kinds)


def load_destinations(day: date, *, conn=None, path: Path | None = None,
                      referential: list[ReferentialRow] | None = None) -> dict[str, Destination]:
    """Each agency receiving extracts on ``day`` → how it receives them (sorted by code).

    The agencies come from ``referential`` if given, else from ``referentiel.destinations`` through
    ``conn``, else from the seed file. The configuration file is ``path``, else
    ``$AIGUILLAGE_DELIVERY_CONFIG``, else none (everyone by outbox). A code the referential does not
    know, an unknown key or method raise DeliveryConfigError naming the file and the key.
    """
    if referential is None:
        referential = referential_from_warehouse(conn) if conn is not None else referential_from_seed()
    known = {row.code_structure: row for row in referential}
    path = path if path is not None else config_path()
    data = _read_file(Path(path)) if path is not None else {}

    unknown_top = sorted(set(data) - {"default", "destinations"})
    if unknown_top:
        raise DeliveryConfigError(f"delivery configuration {path}: unknown section {unknown_top[0]!r} "
                                  f"(expected [default] and [destinations.<code_structure>])")
    default = _section(path, "default", data.get("default", {}))
    configured = data.get("destinations", {})
    if not isinstance(configured, dict):
        raise DeliveryConfigError(f"delivery configuration {path}: [destinations] must be a table/object")
    for code in configured:
        if code not in known:
            raise DeliveryConfigError(f"delivery configuration {path}: destinations.{code} is not an agency "
                                      f"of referentiel.destinations")
        _section(path, f"destinations.{code}", configured[code])

    result: dict[str, Destination] = {}
    for code in sorted(code for code, row in known.items() if row.receives_on(day)):
        if code in configured:
            result[code] = _destination(path, f"destinations.{code}", code, {**configured[code]})
        else:
            result[code] = _destination(path, "default", code, default)
    # Agencies configured but not receiving on that day (not yet open, closed) are checked, then left out.
    for code in sorted(set(configured) - set(result)):
        _destination(path, f"destinations.{code}", code, configured[code])
        log.info("delivery configured for %s, which receives no extract on %s", code, day)
    return result
