-- A job of jobs (issue 14): a drain is a job of kind EVACUATION, and each of its moves names it here. NULL for a move
-- run on its own. Not part of the row the store rewrites on every change (JobRows.JOB_COLUMNS), so no change undoes it.
ALTER TABLE jobs ADD COLUMN parent_id TEXT;
CREATE INDEX jobs_by_parent ON jobs (parent_id);
