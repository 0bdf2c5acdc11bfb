-- Landing registry: every file that reached the landing zone, recorded once by its content.
-- Operational metadata only: no personal data lives in this schema.
CREATE SCHEMA IF NOT EXISTS registry;

COMMENT ON SCHEMA registry IS
    'Operational record of the pipeline: files received and their fate. No personal data.';

CREATE TABLE registry.landing_file (
    file_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256          char(64)    NOT NULL,
    relative_path   text        NOT NULL,
    source          text        NOT NULL CHECK (source IN ('caf', 'france_travail', 'ali', 'unknown')),
    kind            text,
    agency_code     text,
    size_bytes      bigint      NOT NULL CHECK (size_bytes >= 0),
    mtime_ns        bigint      NOT NULL,
    delivered_on    date,
    header          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status          text        NOT NULL CHECK (status IN ('registered', 'duplicate', 'quarantined')),
    status_reason   text,
    duplicate_of    bigint      REFERENCES registry.landing_file (file_id),
    logical_date    date        NOT NULL,
    run_id          text        NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (relative_path, sha256),
    CHECK ((status = 'duplicate') = (duplicate_of IS NOT NULL))
);

-- The same bytes are processed once: only one non-duplicate row per content.
CREATE UNIQUE INDEX landing_file_one_original ON registry.landing_file (sha256)
    WHERE status <> 'duplicate';
CREATE INDEX landing_file_logical_date ON registry.landing_file (logical_date);

COMMENT ON TABLE registry.landing_file IS
    'One row per (path, content) seen in the landing zone. A file is identified by its sha256: '
    'the same bytes under another name are recorded as a duplicate of the first and never processed twice.';
COMMENT ON COLUMN registry.landing_file.delivered_on IS
    'Day the file speaks for: DTCREAFLUX for CAF flows, the YYYYMMDD stamp of the name otherwise. '
    'A run for logical date D registers only files delivered on or before D, so reruns are reproducible.';
COMMENT ON COLUMN registry.landing_file.header IS
    'Flow header read from the file (CAF: TYPEFLUX, NATFLUX, DTCREAFLUX, DTREF, ...) and its encoding.';
COMMENT ON COLUMN registry.landing_file.logical_date IS 'Logical date of the run that first recorded the file.';

CREATE TABLE registry.landing_scan (
    scan_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    logical_date    date        NOT NULL,
    run_id          text        NOT NULL,
    landing_dir     text        NOT NULL,
    files_seen      integer     NOT NULL,
    files_recorded  integer     NOT NULL,
    files_not_due   integer     NOT NULL,
    files_skipped   integer     NOT NULL,
    bytes_hashed    bigint      NOT NULL,
    seconds         numeric(10, 3) NOT NULL,
    scanned_at      timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE registry.landing_scan IS 'One row per scan of the landing zone (each run, each rerun).';
