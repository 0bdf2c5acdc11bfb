-- Each CAF dossier (InfosFoyerRSA block) is validated against the VRSB0801 schema in use while the
-- file streams. A dossier that breaks it is kept and flagged SCHEMA_INVALID; its errors are listed
-- here, one per element: "<element path>: <rule> (line N)". Element names, rules and positions
-- only, never a value (values are personal data).
ALTER TABLE raw.caf_dossier ADD COLUMN IF NOT EXISTS schema_errors text[] NOT NULL DEFAULT '{}';

COMMENT ON COLUMN raw.caf_dossier.schema_errors IS
    'Where the dossier breaks the VRSB0801 schema in use (the CNAF''s own when provided): element path '
    'from InfosFoyerRSA, the rule (facet, cardinality or order, type) and the line in the file; never a value. '
    'At most 20 per dossier, then a count of the others. Empty for a valid dossier.';
COMMENT ON COLUMN raw.caf_dossier.flags IS
    'Reader flags (docs/data-contracts.md section 2), e.g. UNKNOWN_CODE:ETATDOSRSA, TOO_LONG:NOM, SCHEMA_INVALID.';
