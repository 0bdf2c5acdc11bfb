-- An agency may receive each file of a day in several formats (docs/data-contracts.md §5, Formats):
-- the CSV, an XLSX workbook, the WebRSA ALI exchange (XML). Each format's file is delivered, recorded,
-- archived and re-delivered on its own, so the delivery record tells them apart. Existing rows were CSV.
ALTER TABLE registry.extract_delivery ADD COLUMN format text NOT NULL DEFAULT 'csv'
    CHECK (format IN ('csv', 'xlsx', 'webrsa'));
ALTER TABLE registry.extract_delivery DROP CONSTRAINT extract_delivery_code_structure_day_fichier_sha256_key;
ALTER TABLE registry.extract_delivery ADD CONSTRAINT extract_delivery_once
    UNIQUE (code_structure, day, fichier, format, sha256);

COMMENT ON COLUMN registry.extract_delivery.format IS
    'csv, xlsx or webrsa (aiguillage.extracts.formats): the same (agency, day, fichier) has one delivery '
    'history per format; the file name and its manifest''s name follow from it.';
COMMENT ON COLUMN registry.extract_delivery.sha256 IS 'sha256 of the file as delivered (also in its manifest).';
COMMENT ON COLUMN registry.extract_delivery.target IS
    'Where the file was placed: a file path of the outbox, or sftp://<Airflow connection id>/<remote path>. '
    'Never a credential.';
