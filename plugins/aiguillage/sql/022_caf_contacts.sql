-- The CNAF's contact details of the RSA caseload (<landing>/caf_contacts/*<YYYYMMDD>*.csv,
-- docs/data-contracts.md §11): the dossier's phone numbers and e-mail, one line per person of the
-- caseload, keyed by MATRICULE and NIR. A source of its own, loaded by the caf_ingestion DAG after the
-- VRSB0801 flows: good lines here, bad lines rejected with a reason. Phone numbers and e-mails are
-- direct identifiers: like the rest of raw, readable by the pipeline's role only; the warehouse
-- exposes them in the restricted schema identifiants only (identifiants__contact_details).
ALTER TABLE registry.landing_file DROP CONSTRAINT landing_file_source_check;
ALTER TABLE registry.landing_file ADD CONSTRAINT landing_file_source_check CHECK (source IN (
    'caf', 'caf_contacts', 'france_travail', 'ali', 'departement', 'unknown'));

-- Names of the file (NOM/PRENOM RESPONSABLE DOSSIER) are never stored: the reader does not read them.
CREATE TABLE raw.caf_contact (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    line_number integer NOT NULL,
    matricule text NOT NULL,
    numdemrsa text,
    role_personne text,
    type_personne text,
    nir text,
    nir_valid boolean NOT NULL,
    date_demande_rsa date,
    date_debut_droits_devoirs date,
    -- national form, ten digits (0612345678): what the reader made of NUMERO TELEPHONE (2) DOSSIER
    telephone_1 text CHECK (telephone_1 ~ '^0[1-9][0-9]{8}$'),
    telephone_2 text CHECK (telephone_2 ~ '^0[1-9][0-9]{8}$'),
    email text CHECK (email LIKE '%_@_%'),
    PRIMARY KEY (file_id, line_number)
);
COMMENT ON TABLE raw.caf_contact IS
    'CNAF contact-details files, one row per accepted line: phones in national form, e-mail lower-cased. '
    'Personal data (NIR, phone, e-mail): pipeline role only.';

CREATE TABLE raw.caf_contact_reject (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    line_number integer NOT NULL,
    reason_code text NOT NULL, detail text, raw_line text,
    PRIMARY KEY (file_id, line_number)
);
COMMENT ON TABLE raw.caf_contact_reject IS
    'Lines of the CNAF contact-details files rejected by the reader, with their reason code and the line '
    'as received (personal data: pipeline role only; purged with the person).';
