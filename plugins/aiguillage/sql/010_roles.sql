-- What agencies that query the warehouse directly may read: the schema `agences`, holding one view
-- per subject (built by dbt: models/agences/), each filtered on the agency of the reading role.
-- The roles themselves belong to the whole server and change with the seed of destinations: they are
-- created and granted by aiguillage.roles.ensure_roles (`aiguillage roles`), not here.
CREATE SCHEMA IF NOT EXISTS agences;
REVOKE ALL ON SCHEMA agences FROM PUBLIC;
COMMENT ON SCHEMA agences IS
    'Views read by the agencies'' own roles (agence_<code>), each row filtered to the reading agency. '
    'No NIR; names and addresses of the agency''s own people only, as in its daily extract.';

-- Which agency each agency role speaks for. Kept by ensure_roles; read by the views of `agences`
-- (with the privileges of their owner): no agency role reads it directly.
CREATE TABLE IF NOT EXISTS agences.role_structure (
    role_name       text PRIMARY KEY,
    code_structure  text NOT NULL UNIQUE,
    granted_at      timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON agences.role_structure FROM PUBLIC;
COMMENT ON TABLE agences.role_structure IS
    'One row per agency role kept by the pipeline (agence_<code>) and the code_structure whose rows it '
    'may read. A role absent from this table reads nothing in the views of the schema agences.';
