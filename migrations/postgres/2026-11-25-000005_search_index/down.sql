-- The extension stays: other schemas or applications in the database may use it.
DROP INDEX IF EXISTS customers_lastname_trgm_idx;
DROP INDEX IF EXISTS customers_firstname_trgm_idx;
DROP INDEX IF EXISTS customers_email_trgm_idx;
