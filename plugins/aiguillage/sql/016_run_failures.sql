-- Why a task failed, in words an operator can act on: beside the error's type, its message as
-- aiguillage.observability.task_runs.error_message cleans it (first line only, so no row that
-- PostgreSQL quotes in its DETAIL; database values hidden; replaced whole when it looks like it holds a
-- NIR or an e-mail address). The day reports of `aiguillage run` and `aiguillage stack run` print it.
ALTER TABLE registry.task_run ADD COLUMN IF NOT EXISTS error_message text;

COMMENT ON COLUMN registry.task_run.error_type IS
    'Type of the error that ended a failed try (its original cause).';
COMMENT ON COLUMN registry.task_run.error_message IS
    'Message of that error, cleaned of personal data (task_runs.error_message); NULL on success.';
