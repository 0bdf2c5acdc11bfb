"""What roles hold in the warehouse's database, read from PostgreSQL's catalogs, and how to take it back.

A privilege is one (object, grantee, privilege) triple of an ACL (aclexplode), a default privilege, a
role membership or a role attribute. Comparing two snapshots tells what a run changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql

# The privilege keywords aclexplode() reports; anything else is refused before it reaches a statement.
PRIVILEGE_WORDS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN",
                             "EXECUTE", "USAGE", "CREATE", "CONNECT", "TEMPORARY", "TEMP"})
# pg_default_acl.defaclobjtype → the keyword of ALTER DEFAULT PRIVILEGES.
DEFAULT_OBJECT_TYPES = {"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}
ROLE_ATTRIBUTES = ("rolsuper", "rolinherit", "rolcreaterole", "rolcreatedb", "rolcanlogin", "rolreplication",
                   "rolbypassrls")


@dataclass(frozen=True, order=True)
class Privilege:
    """kind: database, schema, relation, sequence, function, default, membership or attribute.
    For a relation, ``detail`` is its relkind; for a default privilege, the owner and object type."""

    kind: str
    grantee: str
    privilege: str
    schema: str = ""
    name: str = ""
    detail: str = ""

    def describe(self) -> str:
        if self.kind == "default":
            objects = DEFAULT_OBJECT_TYPES.get(self.detail, self.detail)
            return f"default {self.privilege} on {objects} of {self.name} in {self.schema or 'the database'} " \
                   f"to {self.grantee}"
        where = ".".join(part for part in (self.schema, self.name) if part)
        return f"{self.privilege} on {self.kind} {where} to {self.grantee}"


_QUERIES = {
    "relation": """
        SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'relation' END, r.rolname, a.privilege_type,
               n.nspname, c.relname, c.relkind::text
        FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        CROSS JOIN LATERAL aclexplode(c.relacl) AS a
        JOIN pg_roles AS r ON r.oid = a.grantee
        WHERE r.rolname = ANY(%(roles)s)""",
    "schema": """
        SELECT 'schema', r.rolname, a.privilege_type, '', n.nspname, ''
        FROM pg_namespace AS n
        CROSS JOIN LATERAL aclexplode(n.nspacl) AS a
        JOIN pg_roles AS r ON r.oid = a.grantee
        WHERE r.rolname = ANY(%(roles)s)""",
    "function": """
        SELECT 'function', r.rolname, a.privilege_type, n.nspname, p.oid::regprocedure::text, ''
        FROM pg_proc AS p
        JOIN pg_namespace AS n ON n.oid = p.pronamespace
        CROSS JOIN LATERAL aclexplode(p.proacl) AS a
        JOIN pg_roles AS r ON r.oid = a.grantee
        WHERE r.rolname = ANY(%(roles)s)""",
    "database": """
        SELECT 'database', r.rolname, a.privilege_type, '', d.datname, ''
        FROM pg_database AS d
        CROSS JOIN LATERAL aclexplode(d.datacl) AS a
        JOIN pg_roles AS r ON r.oid = a.grantee
        WHERE d.datname = current_database() AND r.rolname = ANY(%(roles)s)""",
    "default": """
        SELECT 'default', r.rolname, a.privilege_type, coalesce(n.nspname, ''), owner.rolname,
               d.defaclobjtype::text
        FROM pg_default_acl AS d
        JOIN pg_roles AS owner ON owner.oid = d.defaclrole
        LEFT JOIN pg_namespace AS n ON n.oid = d.defaclnamespace
        CROSS JOIN LATERAL aclexplode(d.defaclacl) AS a
        JOIN pg_roles AS r ON r.oid = a.grantee
        WHERE r.rolname = ANY(%(roles)s) AND r.oid <> d.defaclrole""",
    "membership": """
        SELECT 'membership', member.rolname, 'MEMBER', '', grp.rolname, ''
        FROM pg_auth_members AS m
        JOIN pg_roles AS grp ON grp.oid = m.roleid
        JOIN pg_roles AS member ON member.oid = m.member
        WHERE member.rolname = ANY(%(roles)s) OR grp.rolname = ANY(%(roles)s)""",
}


def snapshot(conn: psycopg.Connection, roles: Iterable[str]) -> set[Privilege]:
    """Every privilege, default privilege, membership and attribute of ``roles`` in this database."""
    names = sorted(set(roles))
    found: set[Privilege] = set()
    for query in _QUERIES.values():
        found.update(Privilege(*row) for row in conn.execute(query, {"roles": names}))
    columns = sql.SQL(", ").join(sql.Identifier(column) for column in ROLE_ATTRIBUTES)
    query = sql.SQL("SELECT rolname, {} FROM pg_roles WHERE rolname = ANY(%s)").format(columns)
    for role, *flags in conn.execute(query, (names,)):
        found.update(Privilege("attribute", role, attribute)
                     for attribute, held in zip(ROLE_ATTRIBUTES, flags, strict=True) if held)
    return found


def revoke_statement(privilege: Privilege) -> sql.Composed:
    """The statement that takes ``privilege`` back from its grantee."""
    grantee = sql.Identifier(privilege.grantee)
    if privilege.kind == "membership":
        return sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(privilege.name), grantee)
    if privilege.privilege not in PRIVILEGE_WORDS:
        raise ValueError(f"unexpected privilege {privilege.privilege!r}")
    word = sql.SQL(privilege.privilege)
    if privilege.kind in ("relation", "sequence"):
        target = sql.SQL("TABLE" if privilege.kind == "relation" else "SEQUENCE")
        return sql.SQL("REVOKE {} ON {} {}.{} FROM {}").format(
            word, target, sql.Identifier(privilege.schema), sql.Identifier(privilege.name), grantee)
    if privilege.kind == "schema":
        return sql.SQL("REVOKE {} ON SCHEMA {} FROM {}").format(word, sql.Identifier(privilege.name), grantee)
    if privilege.kind == "database":
        return sql.SQL("REVOKE {} ON DATABASE {} FROM {}").format(word, sql.Identifier(privilege.name), grantee)
    if privilege.kind == "function":
        # regprocedure's text is PostgreSQL's own, quoted where needed: a valid function reference.
        return sql.SQL("REVOKE {} ON FUNCTION {} FROM {}").format(word, sql.SQL(privilege.name), grantee)
    if privilege.kind == "default":
        in_schema = (sql.SQL(" IN SCHEMA {}").format(sql.Identifier(privilege.schema)) if privilege.schema
                     else sql.SQL(""))
        return sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {}{} REVOKE {} ON {} FROM {}").format(
            sql.Identifier(privilege.name), in_schema, word, sql.SQL(DEFAULT_OBJECT_TYPES[privilege.detail]),
            grantee)
    raise ValueError(f"cannot revoke a {privilege.kind}")
