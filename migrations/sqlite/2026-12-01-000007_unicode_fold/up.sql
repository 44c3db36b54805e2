-- Case-insensitive search by Unicode case folding (issue 12): SQLite's lower() and LIKE fold only
-- ASCII, so `ñúñez` did not find `Ñúñez`. patron stores each searched text folded (src/domain/
-- fold.rs) and searches those columns. SQL cannot compute that fold, so the columns start empty
-- and patron fills every row whose email_folded is NULL right after migrating, at each start
-- (db::customers::backfill_folded).
ALTER TABLE customers ADD COLUMN email_folded TEXT;
ALTER TABLE customers ADD COLUMN firstname_folded TEXT;
ALTER TABLE customers ADD COLUMN lastname_folded TEXT;
-- What the backfill looks for.
CREATE INDEX customers_unfolded_idx ON customers (id) WHERE email_folded IS NULL;
