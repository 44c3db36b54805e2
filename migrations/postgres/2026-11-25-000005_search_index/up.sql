-- `GET /v1/customers?query=` matches a substring of the email and the names, which no b-tree can
-- serve: without these indexes every search reads every customer (55-113 ms for the count over
-- 100,000 customers; bench/RESULTS.md). Trigram indexes answer the same LIKEs from the index.
--
-- pg_trgm ships with PostgreSQL and is a trusted extension, but a role without CREATE on the
-- database cannot install it, and it may already live in another schema (managed services put
-- extensions in their own). Neither may stop patron from starting: without the extension search
-- still works, unindexed, and a NOTICE says why.
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
    EXECUTE format('CREATE INDEX customers_email_trgm_idx ON customers USING gin (email_normalized %I.gin_trgm_ops)', ext_schema);
    EXECUTE format('CREATE INDEX customers_firstname_trgm_idx ON customers USING gin (lower(firstname) %I.gin_trgm_ops)', ext_schema);
    EXECUTE format('CREATE INDEX customers_lastname_trgm_idx ON customers USING gin (lower(lastname) %I.gin_trgm_ops)', ext_schema);
END
$$;
