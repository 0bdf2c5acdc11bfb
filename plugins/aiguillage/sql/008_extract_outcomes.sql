-- What became of each agency's extract for a day, as decided by the latest run of that day:
-- delivered, already delivered by an earlier run, withheld by the quality gate (and why), or failed.
-- The run report and `aiguillage run` read it; the deliveries themselves are in
-- registry.extract_delivery. Codes, counts and reasons only: no personal data.
CREATE TABLE registry.extract_outcome (
    day             date        NOT NULL,
    code_structure  text        NOT NULL,
    run_id          text        NOT NULL,
    state           text        NOT NULL
        CHECK (state IN ('delivered', 'already_delivered', 'withheld', 'failed')),
    reason          text,
    method          text,
    files           jsonb       NOT NULL DEFAULT '[]'::jsonb,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, code_structure)
);

COMMENT ON TABLE registry.extract_outcome IS
    'Fate of each agency''s referral extract for a day, as decided by the latest run of that day.';
COMMENT ON COLUMN registry.extract_outcome.state IS
    'delivered; already_delivered (an earlier run delivered the same bytes); withheld (quality gate); failed.';
COMMENT ON COLUMN registry.extract_outcome.reason IS 'Why it was withheld or failed, in plain words.';
COMMENT ON COLUMN registry.extract_outcome.files IS
    'The files of the day: fichier, rows, rows_by_type, sha256, path (mouvements, and stock when sent).';
