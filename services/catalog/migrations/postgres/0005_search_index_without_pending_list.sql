-- The text-search index takes each write into its tree at once instead of a pending list. With the pending list
-- (GIN's default "fast update"), every search also reads every entry written since the list was last merged: up to
-- 4 MB of unsorted entries, merged only by VACUUM, autovacuum's analyze or the list overflowing. Under a steady
-- trickle of edits a search then costs several times its own matches (at 56,000 products, "trail shoes" counted in
-- 36 ms with the list, 12 ms once merged). Catalogues are read far more than written: writes pay instead.
--
-- Changing the setting locks the index against every query of the products table until this transaction ends, so
-- what is pending is merged first (without that lock), the lock is waited for at most 5 s (past that the migration
-- fails and runs again at the next start, rather than queueing every product query behind it), and only what was
-- written meanwhile is merged under it.
SELECT gin_clean_pending_list('products_search'::regclass);
SET LOCAL lock_timeout = '5s';
ALTER INDEX products_search SET (fastupdate = off);
SELECT gin_clean_pending_list('products_search'::regclass);
