-- Keyed pseudonyms for personal identifiers, computed inside the warehouse.
-- The key is written from the environment (AIGUILLAGE_PSEUDONYMISATION_KEY) by the pipeline before
-- each transformation (see aiguillage.pseudonyms), into a table only the pipeline's role can read:
-- it never appears in dbt's compiled SQL, in logs or in the repository.
-- Stored as the two HMAC pads (RFC 2104), so that each pseudonym costs two SHA-256 and nothing more.
CREATE TABLE aiguillage_meta.pseudonymisation_key (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    inner_pad   bytea NOT NULL CHECK (octet_length(inner_pad) = 64),
    outer_pad   bytea NOT NULL CHECK (octet_length(outer_pad) = 64),
    fingerprint text NOT NULL,
    set_at      timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON SCHEMA aiguillage_meta FROM PUBLIC;
REVOKE ALL ON aiguillage_meta.pseudonymisation_key FROM PUBLIC;
COMMENT ON TABLE aiguillage_meta.pseudonymisation_key IS
    'The key of the keyed hash used for pseudonyms, as HMAC pads. Changing it changes every pseudonym.';
COMMENT ON COLUMN aiguillage_meta.pseudonymisation_key.fingerprint IS
    'A short hash of the key, to tell which key is in use without revealing it.';

-- The pseudonym of an identifier: HMAC-SHA256 (hex) under the current key; stable for a given key,
-- meaningless without it. Fails (NULL key) when no key was set, rather than hashing without one.
CREATE FUNCTION aiguillage_meta.pseudonym(identifier text) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT encode(sha256(k.outer_pad || sha256(k.inner_pad || convert_to(identifier, 'UTF8'))), 'hex')
    FROM aiguillage_meta.pseudonymisation_key AS k
$$;
COMMENT ON FUNCTION aiguillage_meta.pseudonym(text) IS
    'Keyed pseudonym (HMAC-SHA256, hex) of a direct identifier.';
