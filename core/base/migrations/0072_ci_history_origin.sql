-- 0072 ci_history origin: the changes a release made to CIs, by release.
-- Closing a release counts the CI changes it applied since it closed
-- (core/related.c, close_allowed), which scanned the whole CI history
-- without this index: a cost that grew with the CMDB on every close.
-- Partial: imports and direct edits (no release) are most of the rows.
CREATE INDEX ci_history_origin ON ci_history(origin_release_id)
    WHERE origin_release_id IS NOT NULL;
