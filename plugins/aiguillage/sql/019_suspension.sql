-- The steps the Département records in a suspension-remobilisation procedure
-- (<landing>/departement/remobilisation_<YYYYMMDD>.csv, docs/data-contracts.md §7): the person invited
-- to present observations, the observations received, the équipe pluridisciplinaire consulted, the
-- président's decision. Loaded by the departement_ingestion DAG like every partner file: good lines
-- here, bad lines rejected with a reason. No name, no NIR: a case is named by the opaque
-- id_remobilisation of the équipe pluridisciplinaire's list (marts.remobilisation_cases).
CREATE TABLE raw.departement_remobilisation_step (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    line_number integer NOT NULL,
    id_remobilisation text NOT NULL,
    etape text NOT NULL,
    date_etape date NOT NULL,
    decision text,
    PRIMARY KEY (file_id, line_number)
);
COMMENT ON TABLE raw.departement_remobilisation_step IS
    'The Département''s suspension-remobilisation steps (remobilisation_<YYYYMMDD>.csv), one row per accepted line.';

CREATE TABLE raw.departement_remobilisation_reject (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    line_number integer NOT NULL,
    reason_code text NOT NULL, detail text, raw_line text,
    PRIMARY KEY (file_id, line_number)
);
COMMENT ON TABLE raw.departement_remobilisation_reject IS
    'Lines of the suspension-remobilisation steps files rejected by the reader, with their reason code and the line as received.';
