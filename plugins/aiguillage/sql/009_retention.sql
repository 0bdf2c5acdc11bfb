-- RGPD retention: personal data is deleted from every layer once a person's RSA rights closed and
-- their last referral ended more than the retention period ago (aiguillage.retention). Before that,
-- the purged persons' contribution to the analysts' totals is added to anonymous aggregates, and
-- every run is recorded with its counts. Counts and codes only: no personal data in these tables.
CREATE SCHEMA IF NOT EXISTS retention;
REVOKE ALL ON SCHEMA retention FROM PUBLIC;
COMMENT ON SCHEMA retention IS
    'Anonymous aggregates kept for the analysts after personal data was purged (counts only).';

-- Every run of the purge (dry runs included): what it would delete or deleted, per table and file.
CREATE TABLE registry.retention_run (
    retention_run_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id             text        NOT NULL,
    as_of              date        NOT NULL,
    cutoff             date        NOT NULL,
    extract_cutoff     date        NOT NULL,
    retention_months   integer     NOT NULL,
    extract_months     integer     NOT NULL,
    dry_run            boolean     NOT NULL,
    persons            integer     NOT NULL DEFAULT 0,
    households         integer     NOT NULL DEFAULT 0,
    rows_deleted       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    aggregate_rows     integer     NOT NULL DEFAULT 0,
    files_deleted      integer     NOT NULL DEFAULT 0,
    bytes_deleted      bigint      NOT NULL DEFAULT 0,
    deliveries_marked  integer     NOT NULL DEFAULT 0,
    registry_matches   integer     NOT NULL DEFAULT 0,
    started_at         timestamptz NOT NULL,
    finished_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX retention_run_as_of ON registry.retention_run (as_of);

COMMENT ON TABLE registry.retention_run IS
    'One row per run of the RGPD purge, dry runs included. Counts only, never an identity.';
COMMENT ON COLUMN registry.retention_run.as_of IS 'The day the periods are counted back from.';
COMMENT ON COLUMN registry.retention_run.cutoff IS
    'as_of minus the retention period: persons whose rights closed and last referral ended before it are purged.';
COMMENT ON COLUMN registry.retention_run.extract_cutoff IS
    'as_of minus the extract retention period: delivered extract files of days before it are deleted.';
COMMENT ON COLUMN registry.retention_run.dry_run IS 'true: counted in a transaction rolled back, nothing deleted.';
COMMENT ON COLUMN registry.retention_run.persons IS 'Persons past the period (person_id of the warehouse).';
COMMENT ON COLUMN registry.retention_run.households IS 'CAF dossiers all of whose persons were purged.';
COMMENT ON COLUMN registry.retention_run.rows_deleted IS 'Rows deleted per schema.table (only tables with rows).';
COMMENT ON COLUMN registry.retention_run.aggregate_rows IS 'Rows added to retention.aggregats_purges.';
COMMENT ON COLUMN registry.retention_run.files_deleted IS 'Extract files (CSV, manifests, staged copies) deleted.';
COMMENT ON COLUMN registry.retention_run.deliveries_marked IS
    'registry.extract_delivery rows marked archive_purged_on by this run.';
COMMENT ON COLUMN registry.retention_run.registry_matches IS
    'Rows of the registry schema found holding a purged person''s identifier (expected 0; never deleted).';

-- A delivery's record stays (no personal data in it); its archived files are gone after the period.
ALTER TABLE registry.extract_delivery ADD COLUMN archive_purged_on date;
COMMENT ON COLUMN registry.extract_delivery.archive_purged_on IS
    'Day the RGPD purge deleted the archived copy of this file (outbox and staged copies). Empty: still kept.';

-- The purged persons' contribution to the analysts' totals, added before their rows are deleted.
-- One row per purge run and group; reporting.totaux_avec_purges adds them to the live counts.
CREATE TABLE retention.aggregats_purges (
    retention_run_id  bigint  NOT NULL REFERENCES registry.retention_run (retention_run_id),
    mesure            text    NOT NULL CHECK (mesure IN ('orientations', 'mouvements', 'evenements_ali')),
    mois              date    NOT NULL,
    code_territoire   text,
    parcours          text,
    code_structure    text,
    categorie         text,
    nombre            integer NOT NULL CHECK (nombre > 0)
);
CREATE INDEX aggregats_purges_mesure_mois ON retention.aggregats_purges (mesure, mois);
REVOKE ALL ON retention.aggregats_purges FROM PUBLIC;

COMMENT ON TABLE retention.aggregats_purges IS
    'Comptes anonymes des orientations, mouvements et événements ALI des personnes purgées (RGPD), par mois, '
    'territoire, parcours, structure et catégorie. Aucune donnée personnelle.';
COMMENT ON COLUMN retention.aggregats_purges.mesure IS 'orientations, mouvements ou evenements_ali.';
COMMENT ON COLUMN retention.aggregats_purges.mois IS
    'Premier jour du mois : de création (orientations), du mouvement (mouvements) ou de l''événement.';
COMMENT ON COLUMN retention.aggregats_purges.categorie IS
    'statut_orientation (orientations), type_mouvement (mouvements) ou evenement (evenements_ali).';
COMMENT ON COLUMN retention.aggregats_purges.nombre IS 'Nombre de lignes purgées de ce groupe.';
