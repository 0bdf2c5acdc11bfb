-- The integers the WebRSA ALI exchange carries for our text identifiers (docs/data-contracts.md,
-- "Échange WebRSA ALI"): WebRSA-ALI.xsd types id_personne and id_orient_webrsa as integers, ours are
-- text (person_id, id_orientation). Each identifier gets a number the first day an agency's WebRSA
-- file names it and keeps it: an agency's software matches its people across files by it.
-- Restricted like the extract lines (a number leads back to a person): pipeline role only.
-- The generated person_id / id_orientation columns let the RGPD purge, which finds person-level
-- tables by those column names, delete a purged person's numbers with no special case.
CREATE SCHEMA IF NOT EXISTS identifiants;

CREATE TABLE identifiants.webrsa_identifiant (
    kind            text   NOT NULL CHECK (kind IN ('personne', 'orientation')),
    identifiant     text   NOT NULL,
    numero          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    premier_jour    date   NOT NULL,
    person_id       text   GENERATED ALWAYS AS (CASE WHEN kind = 'personne' THEN identifiant END) STORED,
    id_orientation  text   GENERATED ALWAYS AS (CASE WHEN kind = 'orientation' THEN identifiant END) STORED,
    PRIMARY KEY (kind, identifiant)
);
REVOKE ALL ON identifiants.webrsa_identifiant FROM PUBLIC;
COMMENT ON TABLE identifiants.webrsa_identifiant IS
    'Our identifier (kind personne: person_id; orientation: id_orientation) -> the stable integer sent as '
    'id_personne / id_orient_webrsa in the WebRSA ALI exchange, with the first day it was sent.';
COMMENT ON COLUMN identifiants.webrsa_identifiant.numero IS
    'Assigned once, never reused nor changed; numbered in (kind, identifiant) order within a day.';
