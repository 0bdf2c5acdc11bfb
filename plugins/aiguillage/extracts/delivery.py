"""Deliver a written extract to its agency (outbox folder or SFTP) and record it, once.

The record, ``registry.extract_delivery``, is what makes a retry safe: the same bytes for the same
(agency, day, file) are never delivered twice, and different bytes for a day already delivered are
refused unless ``replace=True``: the agency may already have acted on the first file, so it must
never change under its feet without someone deciding so.

Order of the work, in one transaction holding a lock on (agency, day, file): check the records,
transfer, record; the record is committed when ``deliver`` returns (call it with no transaction
open on the connection, or the caller's commit decides). If the process dies after the transfer and before the commit, nothing is
recorded; the rerun finds no record, transfers the same bytes again to the same names (an atomic
rename over identical files: harmless for the agency) and records them then.

Each format of a file (aiguillage.extracts.formats: CSV, XLSX, WebRSA XML) is delivered, recorded,
archived and re-delivered on its own, under its own name and with its own manifest.

Every delivered file and its manifest are also kept in ``files.archive_folder(outbox, code, day)``
(``<outbox>/_archive/<code>/<YYYY-MM-DD>/``), so that :func:`redeliver` can place the very same
bytes again when an agency asks for them (its copy was picked up and lost, its server was
restored...). A re-delivery is recorded in ``registry.extract_redelivery`` against the delivery it
repeats: it is never a second delivery.

Have ``write_extract`` write into ``files.staging_folder(outbox, code, day)`` and let ``deliver``
place the files: when the writer writes straight into the outbox, a refused change has already
replaced the agency's file by the time it is refused (and SFTP agencies' files would sit in the
outbox for nobody).
"""

from __future__ import annotations

import logging
import posixpath
from datetime import date
from pathlib import Path

import psycopg

from aiguillage.extracts import files, formats
from aiguillage.extracts.destinations import OUTBOX, SFTP, Destination

log = logging.getLogger(__name__)

DELIVERED = "delivered"
ALREADY_DELIVERED = "already_delivered"


class DeliveryRefused(RuntimeError):
    """Different bytes for an (agency, day, file) already delivered, without an explicit replacement."""


class RedeliveryRefused(RuntimeError):
    """A re-delivery that cannot place exactly the bytes delivered: nothing delivered, or the archived
    copy is gone or differs from the record."""


def _lock(conn: psycopg.Connection, code_structure: str, day: date, fichier: str, format: str) -> None:
    # Two runs delivering the same file at once queue here instead of both transferring.
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7303102))",
                 (f"extract_delivery/{code_structure}/{day.isoformat()}/{fichier}/{format}",))


def _records(conn: psycopg.Connection, code_structure: str, day: date, fichier: str, format: str) -> list[tuple]:
    return conn.execute(
        "SELECT sha256, method, target, row_count, delivered_at FROM registry.extract_delivery"
        " WHERE code_structure = %s AND day = %s AND fichier = %s AND format = %s"
        " ORDER BY delivered_at, delivery_id",
        (code_structure, day, fichier, format),
    ).fetchall()


def _place(csv_path: Path, manifest_path: Path, destination: Destination, outbox: Path, code_structure: str,
           day: date) -> str:
    """Put the CSV and its manifest where the agency picks them up; returns where."""
    if destination.method == OUTBOX:
        return _to_outbox(csv_path, manifest_path, files.day_folder(outbox, code_structure, day))
    if destination.method == SFTP:
        return _to_sftp(csv_path, manifest_path, destination, day)
    raise ValueError(f"unknown delivery method {destination.method!r} for {code_structure}")


def _to_outbox(csv_path: Path, manifest_path: Path, folder: Path) -> str:
    """Place both files in the agency's day folder; nothing to copy when the writer wrote them there."""
    final_csv, final_manifest = folder / csv_path.name, folder / manifest_path.name
    if csv_path.resolve() != final_csv.resolve():
        folder.mkdir(parents=True, exist_ok=True)
        final_manifest.unlink(missing_ok=True)  # a manifest on disk always describes the CSV beside it
        files.copy_atomically(csv_path, final_csv)
        files.copy_atomically(manifest_path, final_manifest)
    return str(final_csv)


def _rename_over(sftp, source: str, target: str) -> None:
    """Atomic rename replacing ``target``: posix-rename where the server offers it (OpenSSH does)."""
    try:
        sftp.posix_rename(source, target)
    except OSError:
        # Plain SFTP v3 rename refuses an existing target: remove it first (a short gap, never a
        # half file under the final name).
        try:
            sftp.remove(target)
        except OSError:
            pass
        sftp.rename(source, target)


def _to_sftp(csv_path: Path, manifest_path: Path, destination: Destination, day: date) -> str:
    """Upload the CSV then the manifest (see :func:`upload_by_sftp`), the old manifest removed first: as
    locally, no manifest may describe another file than the one beside it."""
    remote = upload_by_sftp([csv_path, manifest_path], destination, day, stale=[manifest_path.name])
    return f"sftp://{destination.conn_id}{remote[0]}"


def upload_by_sftp(local_paths: list[Path], destination: Destination, day: date, *,
                   stale: list[str] = ()) -> list[str]:
    """Upload each file, in order, under a hidden temporary name renamed once complete, into
    ``<remote_dir>/<YYYY-MM-DD>/``, after removing the names in ``stale``; returns the remote paths."""
    from airflow.providers.sftp.hooks.sftp import SFTPHook  # heavy: only when an agency uses SFTP

    remote_folder = posixpath.join(destination.remote_dir, day.isoformat())
    hook = SFTPHook(ssh_conn_id=destination.conn_id)
    remote_paths = []
    with hook.get_managed_conn() as sftp:
        hook.create_directory(remote_folder)
        for name in stale:
            try:
                sftp.remove(posixpath.join(remote_folder, name))
            except OSError:
                pass
        for local in local_paths:
            final = posixpath.join(remote_folder, local.name)
            partial = posixpath.join(remote_folder, f".{local.name}.part")
            sftp.put(str(local), partial, confirm=True)  # confirm: the remote size is checked
            _rename_over(sftp, partial, final)
            remote_paths.append(final)
    return remote_paths


def deliver(conn: psycopg.Connection, day: date, code_structure: str, extract: dict,
            destination: Destination | dict, outbox: Path, run_id: str, *, replace: bool = False) -> dict:
    """Deliver ``extract`` (what ``write_extract`` returned) to ``destination`` and record it.

    Returns {"code_structure", "fichier", "state", "method", "target", "sha256", "rows"} with state
    "delivered", or "already_delivered" when these bytes were delivered before (nothing is done).
    Raises DeliveryRefused for different bytes on a day already delivered, unless ``replace``.
    """
    files.check_code(code_structure)
    if isinstance(destination, dict):  # as it travels through XCom
        destination = Destination.from_dict(destination)
    fichier = files.check_fichier(extract["fichier"])
    format = formats.get(extract.get("format", formats.CSV)).name
    csv_path, manifest_path = Path(extract.get("path") or extract["csv"]), Path(extract["manifest"])
    digest, rows = extract["sha256"], int(extract["rows"])
    if destination.code_structure != code_structure:
        raise ValueError(f"destination of {destination.code_structure} given to deliver {code_structure}'s extract")
    result = {"code_structure": code_structure, "fichier": fichier, "format": format,
              "method": destination.method, "sha256": digest, "rows": rows}

    with conn.transaction():
        _lock(conn, code_structure, day, fichier, format)
        records = _records(conn, code_structure, day, fichier, format)
        if records and records[-1][0] == digest:
            _archive(csv_path, manifest_path, outbox, code_structure, day)  # deliveries made before the archive
            log.info("extract %s (%s) of %s for %s already delivered (%s): nothing sent", fichier, format,
                     code_structure, day, records[-1][2])
            return {**result, "state": ALREADY_DELIVERED, "method": records[-1][1], "target": records[-1][2]}
        if any(record[0] == digest for record in records):
            raise DeliveryRefused(
                f"extract {csv_path.name} for {code_structure} on {day}: these bytes were delivered first, then "
                f"replaced by another version; sending them again needs a decision outside the pipeline")
        if records and not replace:
            raise DeliveryRefused(
                f"extract {csv_path.name} for {code_structure} on {day} differs from the file already "
                f"delivered on {records[-1][4]:%Y-%m-%d %H:%M} ({records[-1][3]} rows, now {rows}): the agency "
                f"may have acted on it, so it is not replaced silently. Deliver with replace=True to send the "
                f"new version (both deliveries stay recorded)")
        # What is sent must be what is recorded: the file may have been rewritten since it was hashed.
        if files.sha256_of(csv_path) != digest:
            raise RuntimeError(f"extract {csv_path} changed since it was written (its sha256 is no longer "
                               f"the one written): write it again before delivering")

        target = _place(csv_path, manifest_path, destination, outbox, code_structure, day)

        _archive(csv_path, manifest_path, outbox, code_structure, day)
        conn.execute(
            "INSERT INTO registry.extract_delivery (code_structure, day, fichier, format, sha256, row_count,"
            " method, target, run_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (code_structure, day, fichier, format, digest, rows, destination.method, target, run_id),
        )
    log.info("extract %s (%s) of %s for %s delivered: %d rows to %s%s", fichier, format, code_structure, day, rows,
             target,
             " (replacing an earlier version)" if records else "")
    return {**result, "state": DELIVERED, "target": target}


def _archive(csv_path: Path, manifest_path: Path, outbox: Path, code_structure: str, day: date) -> None:
    """Keep the delivered CSV and manifest in the day's archive (the latest delivered version of a file)."""
    folder = files.archive_folder(outbox, code_structure, day)
    archived_csv = folder / csv_path.name
    if archived_csv.is_file() and files.sha256_of(archived_csv) == files.sha256_of(csv_path):
        return
    (folder / manifest_path.name).unlink(missing_ok=True)  # never a manifest describing another CSV
    files.keep_copy(csv_path, archived_csv)
    files.keep_copy(manifest_path, folder / manifest_path.name)


def _manifest_sha256(path: Path) -> str | None:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8")).get("sha256")
    except (OSError, ValueError, AttributeError):
        return None


def last_deliveries(conn: psycopg.Connection, code_structure: str, day: date) -> list[tuple]:
    """(delivery_id, fichier, format, sha256, row_count, purged_on) of the version of each file (and format)
    the agency received last for the day (the one it holds); purged_on: the day the retention purge deleted
    its archive, if so."""
    return conn.execute(
        # archive_purged_on is read through to_jsonb: it is set by the retention purge, when installed.
        "SELECT DISTINCT ON (fichier, format) delivery_id, fichier, format, sha256, row_count,"
        " to_jsonb(d) ->> 'archive_purged_on'"
        " FROM registry.extract_delivery d WHERE code_structure = %s AND day = %s"
        " ORDER BY fichier, format, delivered_at DESC, delivery_id DESC",
        (code_structure, day),
    ).fetchall()


def redeliver(conn: psycopg.Connection, day: date, code_structure: str, destination: Destination | dict,
              outbox: Path, *, fichiers: tuple[str, ...] | None = None,
              formats_wanted: tuple[str, ...] | None = None) -> list[dict]:
    """Place again, unchanged, the files delivered to ``code_structure`` for ``day`` (the latest version of
    each file in each format, or only ``fichiers``/``formats_wanted``) and record each placement as a
    re-delivery of its delivery.

    Every archived file is checked against the record (CSV sha256, and the manifest's) before anything
    is placed: RedeliveryRefused names what is missing or different, and then nothing is sent.
    Returns one {"fichier", "format", "sha256", "rows", "method", "target", "delivery_id"} per file.
    """
    files.check_code(code_structure)
    if isinstance(destination, dict):
        destination = Destination.from_dict(destination)
    if destination.code_structure != code_structure:
        raise ValueError(f"destination of {destination.code_structure} given to re-deliver {code_structure}'s files")
    folder = files.archive_folder(outbox, code_structure, day)
    with conn.transaction():
        delivered = last_deliveries(conn, code_structure, day)
        if fichiers is not None:
            delivered = [row for row in delivered if row[1] in fichiers]
        if formats_wanted is not None:
            delivered = [row for row in delivered if row[2] in formats_wanted]
        if not delivered:
            wanted = f" ({', '.join((*(fichiers or ()), *(formats_wanted or ())))})" if fichiers or formats_wanted else ""
            raise RedeliveryRefused(f"nothing was delivered to {code_structure} for {day}{wanted}: there is "
                                    f"nothing to re-deliver")
        checked = []
        for delivery_id, fichier, format, digest, rows, purged_on in delivered:
            csv = folder / formats.get(format).file_name(code_structure, fichier, day)
            manifest = folder / files.manifest_name(csv.name)
            if purged_on is not None:
                raise RedeliveryRefused(f"the archived copy of {csv.name} delivered to {code_structure} for {day} "
                                        f"was deleted by the retention purge on {purged_on}: the period to keep "
                                        f"it is over")
            if not csv.is_file() or not manifest.is_file():
                raise RedeliveryRefused(f"the archived copy of {csv.name} delivered to {code_structure} for {day} "
                                        f"is gone (expected in {folder}): it cannot be re-delivered unchanged")
            if files.sha256_of(csv) != digest or _manifest_sha256(manifest) != digest:
                raise RedeliveryRefused(f"the archived copy of {csv.name} for {code_structure} on {day} differs "
                                        f"from what was delivered (sha256 on record {digest[:12]}...): it is "
                                        f"not re-delivered")
            checked.append((delivery_id, fichier, format, digest, rows, csv, manifest))
        placed = []
        for delivery_id, fichier, format, digest, rows, csv, manifest in checked:
            _lock(conn, code_structure, day, fichier, format)
            target = _place(csv, manifest, destination, outbox, code_structure, day)
            conn.execute(
                "INSERT INTO registry.extract_redelivery (delivery_id, method, target) VALUES (%s, %s, %s)",
                (delivery_id, destination.method, target),
            )
            placed.append({"fichier": fichier, "format": format, "sha256": digest, "rows": rows, "method": destination.method,
                           "target": target, "delivery_id": delivery_id})
    for item in placed:
        log.info("extract %s (%s) of %s for %s re-delivered unchanged: %d rows to %s", item["fichier"],
                 item["format"], code_structure, day, item["rows"], item["target"])
    return placed


def delivered_agencies(conn: psycopg.Connection, day: date) -> list[str]:
    """The agencies that received at least one extract file for ``day``."""
    if conn.execute("SELECT to_regclass('registry.extract_delivery')").fetchone()[0] is None:
        return []
    return [code for (code,) in conn.execute(
        "SELECT DISTINCT code_structure FROM registry.extract_delivery WHERE day = %s ORDER BY 1", (day,))]


def served_before(conn: psycopg.Connection, code_structure: str, day: date) -> bool:
    """Whether the agency received any extract for a day before ``day`` (else it is due its full stock)."""
    with conn.transaction():
        return conn.execute(
            "SELECT EXISTS (SELECT FROM registry.extract_delivery WHERE code_structure = %s AND day < %s)",
            (code_structure, day),
        ).fetchone()[0]
