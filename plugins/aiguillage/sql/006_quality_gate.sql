-- Quality gate: what each run of the Great Expectations suites found, before the agencies receive
-- their extract. Counts and codes only: no personal data lives in this table.
CREATE TABLE registry.quality_check (
    day              date        NOT NULL,
    run_id           text        NOT NULL,
    suite            text        NOT NULL,
    scope            text        NOT NULL,
    expectation      text        NOT NULL,
    column_name      text,
    severity         text        NOT NULL CHECK (severity IN ('blocking', 'warning')),
    success          boolean,
    unexpected_count bigint,
    observed         text,
    checked_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quality_check_day ON registry.quality_check (day, suite, scope);

COMMENT ON TABLE registry.quality_check IS
    'One row per expectation run by the quality gate and per scope. A rerun of a day replaces that '
    'day''s rows of the suites it ran (idempotent per day, suite and scope).';
COMMENT ON COLUMN registry.quality_check.day IS 'Day of the extract (the run''s logical date).';
COMMENT ON COLUMN registry.quality_check.run_id IS 'Run that checked it (Airflow run id, or "manual").';
COMMENT ON COLUMN registry.quality_check.suite IS
    'Suite file of expectations/ (extract_day, extract_agency, source_caf, source_france_travail, source_ali).';
COMMENT ON COLUMN registry.quality_check.scope IS
    'What the row judges: "day" (every extract), an agency code (ALI01, SSD05...) or a source (caf, '
    'france_travail, ali).';
COMMENT ON COLUMN registry.quality_check.expectation IS 'Great Expectations expectation type.';
COMMENT ON COLUMN registry.quality_check.column_name IS
    'Column(s) checked, comma-separated for a pair or compound check; empty for table-level checks.';
COMMENT ON COLUMN registry.quality_check.severity IS
    'blocking: a failure withholds the extract (every agency''s for the day scope, the agency''s own '
    'otherwise); warning: reported only.';
COMMENT ON COLUMN registry.quality_check.success IS 'true passed, false failed, empty: skipped (see observed).';
COMMENT ON COLUMN registry.quality_check.unexpected_count IS 'Lines that failed the check, when it counts lines.';
COMMENT ON COLUMN registry.quality_check.observed IS
    'What was observed (a count, a volume), or why the check was skipped. Never a value of a personal column.';
COMMENT ON COLUMN registry.quality_check.checked_at IS 'When the row was written.';

