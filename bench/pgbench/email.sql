-- POST /v1/customers/email-token, the issue's ceiling: the single-row SELECT of the customer by
-- (normalised, unique) email.
\set i random(1, 100000)
SELECT * FROM customers WHERE email_normalized = 'customer' || :i || '@example.com' LIMIT 1;
