-- A quarantined partner file, once the partner re-sent it corrected and the correction loaded, is
-- superseded: it keeps its status 'quarantined' and its reason (what the pipeline did with it stays
-- true, and the statuses the warehouse's models and analysts know do not change), and points at the
-- file that replaced it. Reports and alerts no longer count it as a problem.
-- Also: re-deliveries of an agency's extract, recorded against the delivery they repeat.
-- Operational metadata only (paths, codes, hashes): no personal data.

ALTER TABLE registry.landing_file
    ADD COLUMN IF NOT EXISTS superseded_by bigint REFERENCES registry.landing_file (file_id),
    ADD COLUMN IF NOT EXISTS superseded_at timestamptz;
ALTER TABLE registry.landing_file DROP CONSTRAINT IF EXISTS landing_file_superseded_check;
ALTER TABLE registry.landing_file ADD CONSTRAINT landing_file_superseded_check CHECK (
    superseded_by IS NULL OR (status = 'quarantined' AND superseded_at IS NOT NULL AND superseded_by <> file_id));

COMMENT ON COLUMN registry.landing_file.superseded_by IS
    'For a quarantined file the partner re-sent corrected: the correction, loaded in its place. A loaded file '
    'corrects a quarantined one of the same source and agency (and kind, when known), delivered the same day '
    'or later, recorded after it or by the same day''s scan, whose name is its name or its name followed by a '
    'suffix after "_", "-" or "." (VRSB0801_931_20261103_I_corrige.xml corrects VRSB0801_931_20261103_I.xml).';
COMMENT ON COLUMN registry.landing_file.superseded_at IS 'When the correction was found loaded.';

CREATE TABLE IF NOT EXISTS registry.extract_redelivery (
    redelivery_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id     bigint      NOT NULL REFERENCES registry.extract_delivery (delivery_id),
    method          text        NOT NULL CHECK (method IN ('outbox', 'sftp')),
    target          text        NOT NULL,
    redelivered_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS extract_redelivery_delivery ON registry.extract_redelivery (delivery_id);

COMMENT ON TABLE registry.extract_redelivery IS
    'One row per re-delivery, on request, of a file already delivered: the same bytes (the sha256 of the '
    'delivery it repeats, checked against the archived copy), placed again. Never a new delivery.';
COMMENT ON COLUMN registry.extract_redelivery.delivery_id IS 'The delivery repeated (registry.extract_delivery).';
COMMENT ON COLUMN registry.extract_redelivery.method IS 'outbox or sftp: how the agency receives its files now.';
COMMENT ON COLUMN registry.extract_redelivery.target IS
    'Where the CSV was placed again: an outbox path or sftp://<Airflow connection id>/<remote path>.';
COMMENT ON COLUMN registry.extract_redelivery.redelivered_at IS 'When the bytes were placed again.';
