-- The day the referral warehouse is being built for, written by the referral_warehouse task just before
-- dbt runs and read by dbt's run_day() macro when the models are compiled. Passing the day as a dbt var
-- changed dbt's parse state every day and forced a full re-parse of the project (about 5 s a day); read
-- from here at compile time, the day leaves the parsed project unchanged from one day to the next.
CREATE TABLE aiguillage_meta.build_day (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    day date NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON aiguillage_meta.build_day FROM PUBLIC;
COMMENT ON TABLE aiguillage_meta.build_day IS
    'The day the warehouse is being built for (one row): what dbt''s run_day() reads when no var run_day is given.';
