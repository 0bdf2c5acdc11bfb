-- How long each task instance of each DAG run took, one row per try, written by the tasks' own
-- callbacks when the try ends (success, retry or failure). The run report reads it for its day.
-- Identifiers, times and error type names only: no personal data, no error message.
CREATE TABLE IF NOT EXISTS registry.task_run (
    dag_id      text        NOT NULL,
    run_id      text        NOT NULL,
    day         date,
    task_id     text        NOT NULL,
    map_index   integer     NOT NULL DEFAULT -1,
    label       text,
    try_number  integer     NOT NULL,
    state       text        NOT NULL,
    started_at  timestamptz,
    ended_at    timestamptz,
    seconds     numeric(12, 3) CHECK (seconds IS NULL OR seconds >= 0),
    hostname    text,
    error_type  text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    -- A try recorded again (a callback run twice, a rerun of the day reusing the run id) replaces its row.
    PRIMARY KEY (dag_id, run_id, task_id, map_index, try_number)
);

CREATE INDEX IF NOT EXISTS task_run_day ON registry.task_run (day, dag_id);

COMMENT ON TABLE registry.task_run IS
    'Timing of every try of every task instance, recorded by the task''s callbacks when the try ends.';
COMMENT ON COLUMN registry.task_run.day IS
    'The day the run speaks for (NULL when the run could not tell it: such a run failed anyway).';
COMMENT ON COLUMN registry.task_run.map_index IS '-1 for a task that is not mapped.';
COMMENT ON COLUMN registry.task_run.label IS 'Name of a mapped instance: the agency of a delivery.';
COMMENT ON COLUMN registry.task_run.state IS 'success, up_for_retry or failed.';
COMMENT ON COLUMN registry.task_run.seconds IS 'ended_at - started_at of this try.';
COMMENT ON COLUMN registry.task_run.error_type IS
    'Type of the error that ended a failed try (its original cause), never its message.';
