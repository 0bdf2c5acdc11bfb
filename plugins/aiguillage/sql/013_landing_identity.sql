-- A landing file is identified by its bytes AND its place: the same bytes are a duplicate only of a
-- file of the same source, kind and agency that was accepted for loading. Entries that are not
-- regular files, or whose names hold control characters, are recorded as refused, never read.
-- What the scan saw of each file on disk (device, inode, change time) lets it skip a file it has
-- already hashed, without being fooled by a file rewritten in place with its size and times restored.
-- Operational metadata only: no personal data.

ALTER TABLE registry.landing_file
    ADD COLUMN IF NOT EXISTS device   numeric(20, 0),
    ADD COLUMN IF NOT EXISTS inode    numeric(20, 0),
    ADD COLUMN IF NOT EXISTS ctime_ns bigint,
    ALTER COLUMN sha256 DROP NOT NULL;

ALTER TABLE registry.landing_file DROP CONSTRAINT IF EXISTS landing_file_status_check;
ALTER TABLE registry.landing_file ADD CONSTRAINT landing_file_status_check CHECK (status IN (
    'registered', 'duplicate', 'quarantined', 'loaded', 'loaded_with_rejects', 'refused'));
-- Only a refused entry has no content: it was never opened.
ALTER TABLE registry.landing_file DROP CONSTRAINT IF EXISTS landing_file_refused_unread;
ALTER TABLE registry.landing_file ADD CONSTRAINT landing_file_refused_unread CHECK (
    (status = 'refused') = (sha256 IS NULL) AND (status <> 'refused' OR status_reason IS NOT NULL));

-- One accepted file per content, source, kind and agency (NULL kinds or agencies compare equal).
-- A quarantined file is never an original: its corrected copy, same bytes at the right place, loads.
DROP INDEX IF EXISTS registry.landing_file_one_original;
CREATE UNIQUE INDEX IF NOT EXISTS landing_file_one_accepted
    ON registry.landing_file (sha256, source, kind, agency_code) NULLS NOT DISTINCT
    WHERE status IN ('registered', 'loaded', 'loaded_with_rejects');
CREATE INDEX IF NOT EXISTS landing_file_sha256 ON registry.landing_file (sha256);
-- A refused entry is recorded once: the same entry (path, device, inode) is not recorded again.
CREATE UNIQUE INDEX IF NOT EXISTS landing_file_refused_once
    ON registry.landing_file (relative_path, device, inode) NULLS NOT DISTINCT
    WHERE status = 'refused';

ALTER TABLE registry.landing_scan
    ADD COLUMN IF NOT EXISTS files_unsettled  integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS files_vanished   integer NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS files_unreadable integer NOT NULL DEFAULT 0;

COMMENT ON TABLE registry.landing_file IS
    'One row per (path, content) seen in the landing zone, and one per refused entry. The same bytes with '
    'the same source, kind and agency as a file accepted for loading are recorded as its duplicate and '
    'never processed twice; a copy of a quarantined file is not a duplicate.';
COMMENT ON COLUMN registry.landing_file.status IS
    'registered (waiting for its loader), loaded, loaded_with_rejects, duplicate, quarantined (with the '
    'reason), or refused: not a regular file (symbolic link, FIFO, socket, device) or a name holding '
    'control characters; never opened, never read.';
COMMENT ON COLUMN registry.landing_file.sha256 IS 'Content hash; NULL only for a refused entry (never read).';
COMMENT ON COLUMN registry.landing_file.relative_path IS
    'Path inside the landing zone; control characters and bytes that are not UTF-8 written as escapes '
    '(\n, \x1b, \xff) for a refused name.';
COMMENT ON COLUMN registry.landing_file.device IS 'Device of the file when last hashed (st_dev).';
COMMENT ON COLUMN registry.landing_file.inode IS 'Inode of the file when last hashed (st_ino).';
COMMENT ON COLUMN registry.landing_file.ctime_ns IS
    'Change time of the file when last hashed: set by the kernel at every write, it cannot be set back, '
    'so a file rewritten in place is hashed again even with its size and modification time restored.';
COMMENT ON COLUMN registry.landing_file.load_attempts IS
    'Loads started; a file whose loads keep failing to finish is quarantined after AIGUILLAGE_LOAD_MAX_ATTEMPTS.';
COMMENT ON COLUMN registry.landing_scan.files_unsettled IS
    'Files still changing (written less than AIGUILLAGE_LANDING_SETTLE_SECONDS ago, or during the hash): '
    'left for the next run.';
COMMENT ON COLUMN registry.landing_scan.files_vanished IS 'Files gone between the listing and the hash.';
COMMENT ON COLUMN registry.landing_scan.files_unreadable IS
    'Files or folders the pipeline may not read (permissions): left for the next run.';
