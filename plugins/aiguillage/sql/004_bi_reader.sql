-- The analysts' role: reads the views of the reporting schema and nothing else (no raw, staging,
-- intermediate, marts, history or identifiants schema; no direct identifier). NOLOGIN: a BI tool's
-- login role is made a member of it (GRANT bi_reader TO <login>). The views are granted to it one by
-- one by dbt (grants config), and the schema's USAGE at the end of each dbt run.
-- Roles belong to the whole PostgreSQL server: created once, kept when a database is dropped.
-- On a server where the pipeline may not create roles, the database administrator creates it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bi_reader') THEN
        CREATE ROLE bi_reader NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object THEN NULL;
    WHEN insufficient_privilege THEN
        RAISE WARNING 'cannot create role bi_reader: ask the database administrator to run CREATE ROLE bi_reader NOLOGIN';
END
$$;
