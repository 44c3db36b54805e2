DROP INDEX customers_unfolded_idx;
ALTER TABLE customers DROP COLUMN lastname_folded;
ALTER TABLE customers DROP COLUMN firstname_folded;
ALTER TABLE customers DROP COLUMN email_folded;
