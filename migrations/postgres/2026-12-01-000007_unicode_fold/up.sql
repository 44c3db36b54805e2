-- Case-insensitive search by Unicode case folding (issue 12). lower() lower-cases by the
-- database's locale (in the C locale only ASCII) and SQLite's only ASCII, so the two databases
-- answered a search differently. patron stores each searched text folded (src/domain/fold.rs)
-- and searches those columns on both. SQL cannot compute that fold, so the columns start empty
-- and patron fills every row whose email_folded is NULL right after migrating, at each start
-- (db::customers::backfill_folded).
ALTER TABLE customers ADD COLUMN email_folded TEXT;
ALTER TABLE customers ADD COLUMN firstname_folded TEXT;
ALTER TABLE customers ADD COLUMN lastname_folded TEXT;
-- What the backfill looks for.
CREATE INDEX customers_unfolded_idx ON customers (id) WHERE email_folded IS NULL;

-- The trigram indexes move to the folded columns (see 2026-11-25-000005_search_index for why
-- they exist and why a database without pg_trgm must still migrate).
DROP INDEX IF EXISTS customers_email_trgm_idx;
DROP INDEX IF EXISTS customers_firstname_trgm_idx;
DROP INDEX IF EXISTS customers_lastname_trgm_idx;
DO $$
DECLARE
    ext_schema text;
BEGIN
    SELECT n.nspname INTO ext_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    IF ext_schema IS NULL THEN
        BEGIN
            CREATE EXTENSION pg_trgm SCHEMA public;
            ext_schema := 'public';
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'pg_trgm is not available (%): customer search stays unindexed', SQLERRM;
            RETURN;
        END;
    END IF;
    EXECUTE format('CREATE INDEX customers_email_folded_trgm_idx ON customers USING gin (email_folded %I.gin_trgm_ops)', ext_schema);
    EXECUTE format('CREATE INDEX customers_firstname_folded_trgm_idx ON customers USING gin (firstname_folded %I.gin_trgm_ops)', ext_schema);
    EXECUTE format('CREATE INDEX customers_lastname_folded_trgm_idx ON customers USING gin (lastname_folded %I.gin_trgm_ops)', ext_schema);
END
$$;
