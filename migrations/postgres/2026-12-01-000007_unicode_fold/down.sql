DROP INDEX IF EXISTS customers_lastname_folded_trgm_idx;
DROP INDEX IF EXISTS customers_firstname_folded_trgm_idx;
DROP INDEX IF EXISTS customers_email_folded_trgm_idx;
DROP INDEX customers_unfolded_idx;
ALTER TABLE customers DROP COLUMN lastname_folded;
ALTER TABLE customers DROP COLUMN firstname_folded;
ALTER TABLE customers DROP COLUMN email_folded;
-- The indexes of 2026-11-25-000005_search_index, for the lower() search of before.
DO $$
DECLARE
    ext_schema text;
BEGIN
    SELECT n.nspname INTO ext_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname = 'pg_trgm';
    IF ext_schema IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE INDEX customers_email_trgm_idx ON customers USING gin (email_normalized %I.gin_trgm_ops)', ext_schema);
    EXECUTE format('CREATE INDEX customers_firstname_trgm_idx ON customers USING gin (lower(firstname) %I.gin_trgm_ops)', ext_schema);
    EXECUTE format('CREATE INDEX customers_lastname_trgm_idx ON customers USING gin (lower(lastname) %I.gin_trgm_ops)', ext_schema);
END
$$;
