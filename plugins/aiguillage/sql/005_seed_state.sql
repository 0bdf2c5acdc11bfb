-- Which version of the dbt seeds (the editable reference data) the warehouse holds, so that a daily
-- build reloads and re-tests them only when they changed.
CREATE TABLE aiguillage_meta.seed_state (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    fingerprint text NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE aiguillage_meta.seed_state IS
    'sha256 of the seed files and their configuration last loaded by dbt seed.';
