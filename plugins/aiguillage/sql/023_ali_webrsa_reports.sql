-- The agencies' reports in the WebRSA exchange format (ALI-WebRSA, docs/data-contracts.md §4 "Format
-- WebRSA"). Their events land in raw.ali_report_line like the CSV reports' lines; these tables keep what
-- the exchange adds.

-- Which report of an agency each loaded file is: an agency's software sends each report once, under its
-- date_generation. A second file with the same (agency, date_generation) is "deja_traite": nothing of it
-- loads. Written in the file's load transaction, so a file rolled back leaves no row.
CREATE TABLE registry.ali_webrsa_report (
    file_id          bigint    PRIMARY KEY REFERENCES registry.landing_file (file_id),
    code_structure   text      NOT NULL,
    date_generation  timestamp NOT NULL,
    fichier_stock    boolean   NOT NULL,
    UNIQUE (code_structure, date_generation)
);
COMMENT ON TABLE registry.ali_webrsa_report IS
    'One row per loaded ALI-WebRSA report: its agency and its date_generation (the exchange''s '
    '"already processed" rule: one report per agency and date_generation).';

-- The référents the exchange names by integer (id_webrsa of referent_parcours, id_referent of an
-- appointment, a contract, a re-orientation request): the Département's référentiel of each structure's
-- counsellors, as published to the agencies. Filled by the Département (docs/runbook.md); an integer
-- not listed for the sending agency rejects its element (referent_inconnu), a référent closed before
-- the event's date too (referent_cloture). Staff, not people on the RSA.
CREATE TABLE registry.webrsa_referent (
    id_referent     bigint PRIMARY KEY CHECK (id_referent > 0),
    code_structure  text   NOT NULL,
    nom             text   NOT NULL CHECK (length(nom) BETWEEN 1 AND 200),
    email           text   CHECK (length(email) <= 254),
    date_cloture    date
);
COMMENT ON TABLE registry.webrsa_referent IS
    'The référents of each structure under the integers of the WebRSA exchange (Département''s référentiel).';

-- Where each event of an ALI-WebRSA report came from: the element and the identifiers the agency sent,
-- so that a line rejected later (by the referral warehouse) is told back to the agency in its own terms.
CREATE TABLE raw.ali_webrsa_element (
    file_id      bigint  NOT NULL REFERENCES registry.landing_file (file_id),
    line_number  integer NOT NULL,
    element      text    NOT NULL,
    source_line  integer,
    id_personne  bigint  NOT NULL,
    id_ali       bigint,
    PRIMARY KEY (file_id, line_number)
);
COMMENT ON TABLE raw.ali_webrsa_element IS
    'For each raw.ali_report_line of an ALI-WebRSA report: the element path, its line, id_personne and id_ali.';
