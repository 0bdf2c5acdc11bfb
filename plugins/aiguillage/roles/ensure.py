"""Create the warehouse's roles and give each exactly what it needs, idempotently.

- ``aiguillage_pipeline`` (NOLOGIN): every privilege on every schema the pipeline writes, now and on
  what the pipeline's login creates later (default privileges). The pipeline's login is made a member.
- ``bi_reader`` (NOLOGIN): USAGE on ``reporting`` and SELECT on its views, nothing else.
- ``agence_<code>`` (NOLOGIN), one per agency that queries the warehouse directly (chosen by the
  operator, among the agencies receiving an extract): USAGE on ``agences`` and SELECT on its views,
  which show a role its own agency's rows only (agences.role_structure).

Anything bi_reader or an agency role holds beyond that is revoked; an agency that no longer receives
an extract, or is no longer asked for, loses its row in the mapping and every privilege here, then its
role is dropped (or, when another database of the server still grants it something, kept without
login). A login that may not create roles or grant on an object gets a WARNING naming what the
database administrator must do, never an error: the rest is still done.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import psycopg
from psycopg import errors, sql

from aiguillage.roles import privileges
from aiguillage.roles.names import (
    AGENCY_SCHEMA,
    BI_ROLE,
    BI_SCHEMA,
    PIPELINE_ROLE,
    PIPELINE_SCHEMAS,
    agency_code,
    agency_role,
    receiving_agencies,
)

log = logging.getLogger(__name__)

# Errors that mean "this login may not do that here" or "someone else did it first": reported, not raised.
_TOLERATED = (errors.InsufficientPrivilege, errors.DependentObjectsStillExist, errors.UndefinedObject,
              errors.DuplicateObject, errors.InvalidGrantOperation)
# Attributes no managed role may hold.
_FORBIDDEN_ATTRIBUTES = {"rolsuper": "SUPERUSER", "rolcreaterole": "CREATEROLE", "rolcreatedb": "CREATEDB",
                         "rolreplication": "REPLICATION", "rolbypassrls": "BYPASSRLS"}


class _Run:
    """One pass of ensure_roles on a connection: statements tried in savepoints, warnings collected."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn
        self.warnings: list[str] = []

    def attempt(self, statement: sql.Composable, warning: str, params: tuple = ()) -> bool:
        try:
            with self.conn.transaction():
                self.conn.execute(statement, params)
            return True
        except (errors.DuplicateObject, errors.UniqueViolation):
            # Roles belong to the whole server: a build on another database may have just created it.
            return True
        except _TOLERATED as error:
            self.warn(f"{warning} ({error.diag.message_primary})")
            return False

    def warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)

    def one(self, query: str, params: tuple = ()):
        return self.conn.execute(query, params).fetchone()

    def existing_schemas(self, names: Iterable[str]) -> list[str]:
        rows = self.conn.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s) ORDER BY 1", (list(names),))
        return [name for (name,) in rows]

    def ensure_role(self, role: str) -> str:
        """created, present or missing (this login may not create it: the administrator must)."""
        found = self.one("SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls"
                         " FROM pg_roles WHERE rolname = %s", (role,))
        if found is None:
            created = self.attempt(
                sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)),
                f"cannot create role {role}: ask the database administrator to run CREATE ROLE {role} NOLOGIN")
            return "created" if created else "missing"
        for word, held in zip(_FORBIDDEN_ATTRIBUTES.values(), found, strict=True):
            if held:
                self.attempt(sql.SQL("ALTER ROLE {} NO" + word).format(sql.Identifier(role)),
                             f"role {role} has {word}, which it must not: ask the database administrator to run "
                             f"ALTER ROLE {role} NO{word}")
        return "present"


def ensure_roles(conn: psycopg.Connection, agency_codes: Iterable[str] | None = None) -> dict:
    """Create or update the roles and their grants in the connection's database; idempotent.

    ``agency_codes``: the agencies that query the warehouse directly and get a role (ALI01, SSD12...;
    ``["all"]`` for every agency receiving an extract); any other agency role kept here is retired. By
    default (None), the agencies that already have a role keep it. Either way, only agencies receiving
    an extract on the warehouse's latest day keep or get one: one that left the seed, or whose row
    ended, is retired. Returns a summary: each role's state (created, present, missing), the agencies,
    the codes refused, the agency roles retired (dropped or disabled), counts of privileges granted and
    revoked, and the warnings. Codes and role names only."""
    with conn.transaction():
        run = _Run(conn)
        me, is_superuser = run.one("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        mapped = _mapped_agency_roles(conn)
        receiving = set(receiving_agencies(conn))
        asked = set(mapped.values()) if agency_codes is None else {agency_code(code) for code in agency_codes}
        if "ALL" in asked:
            asked = (asked - {"ALL"}) | receiving
        refused = sorted(asked - receiving)
        if refused:
            run.warn(f"no role for {', '.join(refused)}: not an agency receiving an extract on the warehouse's "
                     f"latest day (seeds/destinations.csv: recoit_extrait, actif_du, actif_au)")
        wanted_agencies = {agency_role(code): code for code in sorted(asked & receiving)}
        managed = {PIPELINE_ROLE, BI_ROLE, *wanted_agencies, *mapped}
        before = privileges.snapshot(conn, managed)

        states = {role: run.ensure_role(role) for role in (PIPELINE_ROLE, BI_ROLE, *wanted_agencies)}
        if states[PIPELINE_ROLE] != "missing":
            _grant_pipeline(run, me, is_superuser)
        if states[BI_ROLE] != "missing":
            _grant_reader(run, BI_ROLE, BI_SCHEMA)
        present_agencies = {role: code for role, code in wanted_agencies.items() if states[role] != "missing"}
        _grant_agencies(run, present_agencies)
        retired = {role: _retire_agency(run, role) for role in sorted(set(mapped) - set(present_agencies))}
        for role in [BI_ROLE, *present_agencies]:
            if states[role] != "missing":
                _revoke_beyond(run, role)

        after = privileges.snapshot(conn, managed)
    return {
        "login": me,
        "roles": states,
        "agencies": sorted(present_agencies.values()),
        "refused": refused,
        "retired": retired,
        "granted": len(after - before),
        "revoked": len(before - after),
        "warnings": run.warnings,
    }


def _mapped_agency_roles(conn: psycopg.Connection) -> dict[str, str]:
    if conn.execute("SELECT to_regclass('agences.role_structure')").fetchone()[0] is None:
        return {}
    return dict(conn.execute("SELECT role_name, code_structure FROM agences.role_structure").fetchall())


def _views(conn: psycopg.Connection, schema: str) -> list[str]:
    rows = conn.execute("SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = %s AND c.relkind IN ('v', 'm') ORDER BY 1", (schema,))
    return [name for (name,) in rows]


def _grant_pipeline(run: _Run, me: str, is_superuser: bool) -> None:
    role = sql.Identifier(PIPELINE_ROLE)
    advice = "ask the database administrator (owner of the database and of the pipeline's objects) to rerun it"
    run.attempt(sql.SQL("GRANT CONNECT, TEMPORARY, CREATE ON DATABASE {} TO {}").format(
        sql.Identifier(run.conn.info.dbname), role), f"cannot grant the database to {PIPELINE_ROLE}: {advice}")
    member = run.one("SELECT pg_has_role(current_user, %s, 'MEMBER')", (PIPELINE_ROLE,))[0]
    if not (is_superuser or member or me == PIPELINE_ROLE):
        run.attempt(sql.SQL("GRANT {} TO {}").format(role, sql.Identifier(me)),
                    f"cannot make the pipeline's login a member of {PIPELINE_ROLE}: ask the database "
                    f"administrator to run GRANT {PIPELINE_ROLE} TO <the pipeline's login>")
    for schema in run.existing_schemas(PIPELINE_SCHEMAS):
        name = sql.Identifier(schema)
        for statement in ("GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}",
                          "GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO {role}",
                          "GRANT ALL ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
                          "GRANT EXECUTE ON ALL ROUTINES IN SCHEMA {schema} TO {role}",
                          # Nobody else enters a schema of the pipeline unless granted by name.
                          "REVOKE ALL ON SCHEMA {schema} FROM PUBLIC"):
            run.attempt(sql.SQL(statement).format(schema=name, role=role),
                        f"cannot grant schema {schema} to {PIPELINE_ROLE}: {advice}")
    # What this login creates later (dbt drops and recreates its tables and views at every build, and may
    # create schemas) is the pipeline role's too, in this database.
    for objects in ("ALL ON TABLES", "ALL ON SEQUENCES", "EXECUTE ON ROUTINES", "USAGE, CREATE ON SCHEMAS"):
        run.attempt(sql.SQL("ALTER DEFAULT PRIVILEGES GRANT " + objects + " TO {}").format(role),
                    f"cannot set the default privileges of {PIPELINE_ROLE}: {advice}")


def _grant_reader(run: _Run, role: str, schema: str) -> None:
    """USAGE on ``schema`` and SELECT on its views, now and on the views this login recreates later."""
    if not run.existing_schemas([schema]):
        return
    advice = f"cannot grant schema {schema} to {role}: ask the database administrator to rerun it"
    grantee, name = sql.Identifier(role), sql.Identifier(schema)
    # By name rather than through PUBLIC, which a hardened server may have closed.
    run.attempt(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(run.conn.info.dbname), grantee),
                advice)
    run.attempt(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(name, grantee), advice)
    for view in _views(run.conn, schema):
        run.attempt(sql.SQL("GRANT SELECT ON {}.{} TO {}").format(name, sql.Identifier(view), grantee), advice)
    run.attempt(sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(name, grantee),
                advice)


def _grant_agencies(run: _Run, roles: dict[str, str]) -> None:
    if not run.existing_schemas([AGENCY_SCHEMA]):
        return
    for role, code in sorted(roles.items()):
        # The row that lets the views show the role its agency's lines; a code moved to another role is
        # taken from it (one role per code).
        run.conn.execute("DELETE FROM agences.role_structure WHERE code_structure = %s AND role_name <> %s",
                         (code, role))
        run.conn.execute(
            "INSERT INTO agences.role_structure (role_name, code_structure) VALUES (%s, %s)"
            " ON CONFLICT (role_name) DO UPDATE SET code_structure = excluded.code_structure, granted_at = now()"
            " WHERE role_structure.code_structure IS DISTINCT FROM excluded.code_structure", (role, code))
        _grant_reader(run, role, AGENCY_SCHEMA)


def _retire_agency(run: _Run, role: str) -> str:
    """An agency that no longer receives an extract, or no longer asked for: its mapping row and every
    privilege here go, then the role itself (dropped; disabled when another database still grants it
    something)."""
    run.conn.execute("DELETE FROM agences.role_structure WHERE role_name = %s", (role,))
    found = run.one("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (role,))
    if found is None:
        return "gone"
    for held in sorted(privileges.snapshot(run.conn, [role])):
        if held.kind == "attribute" or (held.kind == "membership" and held.grantee != role):
            continue
        run.attempt(privileges.revoke_statement(held), f"cannot revoke {held.describe()}")
    try:
        with run.conn.transaction():
            run.conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        return "dropped"
    except (errors.DependentObjectsStillExist, errors.InsufficientPrivilege) as error:
        reason = error.diag.message_primary
    if found[0]:
        run.attempt(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(role)), f"cannot disable role {role}")
    run.warn(f"role {role} no longer reads anything in this database but was kept without login ({reason}): "
             f"drop it once no other database grants it anything")
    return "disabled"


def _allowed(held: privileges.Privilege, role: str) -> bool:
    """Whether bi_reader or an agency role may hold ``held``: its own schema and that schema's views, read only."""
    schema = BI_SCHEMA if role == BI_ROLE else AGENCY_SCHEMA
    if held.kind == "attribute":
        return held.privilege in ("rolinherit", "rolcanlogin")
    if held.kind == "membership":
        return held.grantee != role  # who is a member of the role is the administrator's business
    if held.kind == "database":
        return held.privilege == "CONNECT"
    if held.kind == "schema":
        return held.name == schema and held.privilege == "USAGE"
    if held.kind == "relation":
        return held.schema == schema and held.privilege == "SELECT" and held.detail in ("v", "m")
    if held.kind == "default":
        return held.schema == schema and held.detail == "r" and held.privilege == "SELECT"
    return False


def _beyond(run: _Run, role: str) -> list[privileges.Privilege]:
    return [held for held in sorted(privileges.snapshot(run.conn, [role]))
            if held.kind != "attribute" and not _allowed(held, role)]


def _revoke_beyond(run: _Run, role: str) -> None:
    for held in _beyond(run, role):
        run.attempt(privileges.revoke_statement(held), f"cannot revoke {held.describe()}")
    # A REVOKE only takes back what this login (or the object's owner, for a superuser) granted: what
    # another role granted stays, and is named here for the administrator.
    for held in _beyond(run, role):
        run.warn(f"{held.describe()} was granted by another role and is still held: ask the database "
                 f"administrator to revoke it")
