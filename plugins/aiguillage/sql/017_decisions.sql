-- The Département's own files in the landing zone (<landing>/departement/<kind>_*.csv), first of all
-- the orientation team's decisions on the rules' proposals (docs/data-contracts.md §6). Loaded by the
-- departement_ingestion DAG like every partner file: good lines here, bad lines rejected with a reason.
ALTER TABLE registry.landing_file DROP CONSTRAINT landing_file_source_check;
ALTER TABLE registry.landing_file ADD CONSTRAINT landing_file_source_check CHECK (source IN (
    'caf', 'france_travail', 'ali', 'departement', 'unknown'));

-- One row per accepted line of a decisions file. decide_par is a role code of the seed
-- codes_decideur, never a person's name; motif a code of the seed codes_motif_decision.
CREATE TABLE raw.departement_decision (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    line_number integer NOT NULL,
    id_proposition text NOT NULL,
    decision text NOT NULL CHECK (decision IN ('VALIDEE', 'REFUSEE', 'MODIFIEE')),
    parcours text,
    code_structure text,
    date_decision date NOT NULL,
    date_notification date NOT NULL,
    decide_par text NOT NULL,
    motif text,
    delai_revision_mois integer CHECK (delai_revision_mois IN (6, 12)),
    PRIMARY KEY (file_id, line_number)
);
COMMENT ON TABLE raw.departement_decision IS
    'The orientation team''s decisions on proposals (decisions_<YYYYMMDD>.csv), one row per accepted line.';

CREATE TABLE raw.departement_decision_reject (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    line_number integer NOT NULL,
    reason_code text NOT NULL, detail text, raw_line text,
    PRIMARY KEY (file_id, line_number)
);
COMMENT ON TABLE raw.departement_decision_reject IS
    'Lines of the decisions files rejected by the reader, with their reason code and the line as received.';
