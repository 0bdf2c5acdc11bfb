-- Deliveries of the agencies' extracts: which bytes each agency received, for which day, and where.
-- Operational metadata only (codes, hashes, counts, paths): no personal data.
CREATE TABLE registry.extract_delivery (
    delivery_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code_structure  text        NOT NULL,
    day             date        NOT NULL,
    fichier         text        NOT NULL CHECK (fichier IN ('mouvements', 'stock')),
    sha256          char(64)    NOT NULL,
    row_count       integer     NOT NULL CHECK (row_count >= 0),
    method          text        NOT NULL CHECK (method IN ('outbox', 'sftp')),
    target          text        NOT NULL,
    run_id          text        NOT NULL,
    delivered_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (code_structure, day, fichier, sha256)
);
CREATE INDEX extract_delivery_agency_day ON registry.extract_delivery (code_structure, day);

COMMENT ON TABLE registry.extract_delivery IS
    'One row per extract file delivered to an agency. The same bytes for the same agency, day and file are '
    'delivered once; different bytes for a day already delivered are refused unless a replacement is asked '
    'for explicitly, and then both rows stay (the agency may have acted on the first file).';
COMMENT ON COLUMN registry.extract_delivery.code_structure IS 'The receiving agency (referentiel.destinations).';
COMMENT ON COLUMN registry.extract_delivery.day IS 'The day the extract speaks for (the run''s logical date).';
COMMENT ON COLUMN registry.extract_delivery.fichier IS
    'mouvements (orientations_<code>_<YYYYMMDD>.csv) or stock (stock_<code>_<YYYYMMDD>.csv).';
COMMENT ON COLUMN registry.extract_delivery.sha256 IS 'sha256 of the CSV as delivered (also in its manifest).';
COMMENT ON COLUMN registry.extract_delivery.row_count IS 'Lines of the CSV, header excluded.';
COMMENT ON COLUMN registry.extract_delivery.method IS 'outbox (a folder of the platform) or sftp (the agency''s server).';
COMMENT ON COLUMN registry.extract_delivery.target IS
    'Where the CSV was placed: a file path of the outbox, or sftp://<Airflow connection id>/<remote path>. '
    'Never a credential.';
COMMENT ON COLUMN registry.extract_delivery.run_id IS 'The pipeline run that delivered it.';
COMMENT ON COLUMN registry.extract_delivery.delivered_at IS 'When the transfer was complete and recorded.';
