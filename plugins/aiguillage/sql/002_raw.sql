-- Raw layer: what partners sent, typed, append-only. Each row carries its file and its position.
-- Holds direct identifiers (NIR, names, addresses): readable by the pipeline's own role only.
CREATE SCHEMA IF NOT EXISTS raw;
REVOKE ALL ON SCHEMA raw FROM PUBLIC;
COMMENT ON SCHEMA raw IS
    'Partner data as received (personal data: restricted to the pipeline role). Append-only.';

-- What became of each registered file once the loaders saw it.
ALTER TABLE registry.landing_file DROP CONSTRAINT landing_file_status_check;
ALTER TABLE registry.landing_file ADD CONSTRAINT landing_file_status_check CHECK (status IN (
    'registered', 'duplicate', 'quarantined', 'loaded', 'loaded_with_rejects'));
ALTER TABLE registry.landing_file
    ADD COLUMN loaded_at timestamptz,
    ADD COLUMN load_seconds numeric(10, 3),
    ADD COLUMN rows_loaded jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN rejects jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN load_attempts integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN registry.landing_file.rows_loaded IS 'Rows loaded per raw table.';
COMMENT ON COLUMN registry.landing_file.rejects IS 'Rejected lines per reason code.';

CREATE TABLE raw.caf_dossier (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    position integer NOT NULL,
    fonorg text, numorg text, matricule text, typeparte text, ideparte text,
    dtdemrsa date, numdemrsa text, etatdosrsa text, sitfam text, ddsitfam date,
    topsansdomfixe boolean, nbenfautcha integer, oridemrsa text, dtoridemrsa date, topfoydrodevorsa boolean,
    ddelecal date, mtrevminigararsa numeric(12, 2), mtressmenrsa numeric(12, 2), mttotdrorsa numeric(12, 2),
    cedant_fonorg text, cedant_numorg text, cedant_matricule text, cedant_ddarrmut date,
    prenant_fonorg text, prenant_numorg text, prenant_dddepamut date,
    caf_anomalies text[] NOT NULL DEFAULT '{}',
    flags text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (file_id, position)
);

CREATE TABLE raw.caf_person (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    position integer NOT NULL,
    person_position integer NOT NULL,
    matricule text, numdemrsa text,
    qual text, nom text, nomnai text, prenom text, prenom2 text, prenom3 text, nomcomnai text,
    dtnai date, rgnai integer, typedtnai text, nir text, nir_valid boolean, topvaliec boolean, sexe text,
    toprespdos boolean, ddratdos date, dfratdos date, numdemrsaprece text,
    rolepers_rsa text, rolepers_pfa text, topchapers_rsa boolean, topchapers_pfa boolean,
    idassedic text, toppersdrodevorsa boolean, toppersentdrodevorsa boolean, mtpersressmenrsa numeric(12, 2),
    flags text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (file_id, position, person_position)
);

CREATE TABLE raw.caf_address (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    position integer NOT NULL,
    matricule text, numdemrsa text,
    rgadr text NOT NULL, dtemm date, pays text, typeadr text, etatadr text,
    complideadr text, compladr text, numvoie text, libtypevoie text, nomvoie text, lieudist text,
    numcom text, codepos text, nomcom text, hors_france boolean NOT NULL, in_departement boolean,
    flags text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (file_id, position, rgadr)
);

CREATE TABLE raw.caf_right_situation (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    position integer NOT NULL,
    matricule text, numdemrsa text,
    nature text NOT NULL CHECK (nature IN ('REFUS', 'SUSPENSION_DROIT', 'SUSPENSION_VERSEMENT', 'FIN_DROIT',
                                            'FIN_DROIT_MOIS_ANTERIEUR')),
    motif text, date_effet date, natgroupfsus text
);
CREATE INDEX caf_right_situation_file ON raw.caf_right_situation (file_id, position);

CREATE TABLE raw.caf_amount (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    position integer NOT NULL,
    matricule text, numdemrsa text,
    natpf text, sousnatpf text, ddnatdro date, dfnatdro date, mtrsavers numeric(12, 2), dtderrsavers date
);
CREATE INDEX caf_amount_file ON raw.caf_amount (file_id, position);

CREATE TABLE raw.caf_event (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    position integer NOT NULL,
    matricule text, numdemrsa text,
    dtliq date, heuliq time, fg text
);
CREATE INDEX caf_event_file ON raw.caf_event (file_id, position);

CREATE TABLE raw.france_travail_record (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    line_number integer NOT NULL,
    kind text NOT NULL CHECK (kind IN ('inscriptions', 'cessations', 'radiations', 'stock')),
    nir text NOT NULL, identifiantpe text NOT NULL, nom text, prenom text, dtnai date NOT NULL,
    date_evenement date NOT NULL, code text NOT NULL, motif text,
    codeinsee text, localite text, adresse text, ale text,
    PRIMARY KEY (file_id, line_number)
);

CREATE TABLE raw.france_travail_reject (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    line_number integer NOT NULL,
    reason_code text NOT NULL, detail text, raw_line text,
    PRIMARY KEY (file_id, line_number)
);

CREATE TABLE raw.ali_report_line (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    line_number integer NOT NULL,
    code_structure text NOT NULL, date_rapport date NOT NULL, id_orientation text NOT NULL,
    evenement text NOT NULL, date_evenement date NOT NULL, motif text,
    referent_nom text, referent_email text,
    PRIMARY KEY (file_id, line_number)
);

CREATE TABLE raw.ali_report_reject (
    file_id bigint NOT NULL REFERENCES registry.landing_file (file_id),
    line_number integer NOT NULL,
    reason_code text NOT NULL, detail text, raw_line text,
    PRIMARY KEY (file_id, line_number)
);

-- France Travail API: every response landed as received, with its request time.
CREATE TABLE raw.france_travail_api_call (
    call_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lookup_id text NOT NULL,
    logical_date date NOT NULL,
    run_id text NOT NULL,
    requested_at timestamptz NOT NULL,
    nir text NOT NULL,
    dtnai date NOT NULL,
    endpoint text NOT NULL,
    http_status integer,
    business_code text,
    outcome text NOT NULL CHECK (outcome IN ('FOUND', 'NO_CANDIDATE', 'SEVERAL_CANDIDATES', 'ACCESS_REFUSED',
                                             'UNKNOWN_ADDRESS', 'ERROR')),
    attempts integer NOT NULL DEFAULT 1,
    elapsed_ms integer,
    response jsonb
);
CREATE INDEX france_travail_api_call_person ON raw.france_travail_api_call (nir, dtnai, requested_at DESC);
COMMENT ON TABLE raw.france_travail_api_call IS
    'One row per HTTP response of the France Travail API (a person''s lookup = the rows sharing its '
    'lookup_id: search, then registration and orientation), body as received.';
